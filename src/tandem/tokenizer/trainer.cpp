#include "tandem/tokenizer/trainer.h"

#include <omp.h>

#include <algorithm>
#include <fstream>
#include <queue>
#include <sstream>
#include <unordered_map>

#include "tandem/core/error.h"
#include "tandem/tokenizer/pretokenizer.h"
#include "tandem/tokenizer/unicode.h"

namespace tandem {
namespace {
using WordCounts = std::unordered_map<std::string, int64_t>;

// Counts pre-tokenized pieces; special tokens are cut out first so their text is not learned.
void count_words(std::string_view text, const std::vector<std::string>& specials, bool nfc,
                 WordCounts& counts) {
  auto count_plain = [&](std::string_view s) {
    if (s.empty()) return;
    std::string normalized;
    if (nfc && unicode::nfc(s, normalized)) s = normalized;
    split_qwen(s, [&](std::string_view piece) { ++counts[std::string(piece)]; });
  };
  size_t start = 0;
  for (size_t pos = 0; pos < text.size(); ++pos) {
    for (const auto& sp : specials) {
      if (!sp.empty() && text.compare(pos, sp.size(), sp) == 0) {
        count_plain(text.substr(start, pos - start));
        start = pos + sp.size();
        pos = start - 1;
        break;
      }
    }
  }
  count_plain(text.substr(start));
}

// Cuts text into about n pieces at line ends (pieces never span a newline-started cut badly
// enough to matter for counting statistics).
std::vector<std::string_view> cut_lines(std::string_view text, size_t n) {
  std::vector<std::string_view> out;
  const size_t step = std::max<size_t>(text.size() / std::max<size_t>(n, 1), 1);
  size_t start = 0;
  while (start < text.size()) {
    size_t end = std::min(text.size(), start + step);
    while (end < text.size() && text[end - 1] != '\n') ++end;
    out.push_back(text.substr(start, end - start));
    start = end;
  }
  return out;
}

// Word counts over all texts, in parallel over chunks of lines (about 8 per thread, so dynamic
// scheduling evens out uneven chunks). Each thread counts into its own map; the sums do not
// depend on which thread counted what.
WordCounts count_words_parallel(const std::vector<std::string_view>& texts,
                                const BpeTrainerOptions& opt, int threads) {
  std::vector<std::string_view> chunks;
  for (auto t : texts)
    for (auto c : cut_lines(t, static_cast<size_t>(threads) * 8)) chunks.push_back(c);
  std::vector<WordCounts> partial(threads);
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
  for (size_t i = 0; i < chunks.size(); ++i)
    count_words(chunks[i], opt.special_tokens, opt.nfc, partial[omp_get_thread_num()]);
  WordCounts counts = std::move(partial[0]);
  for (int t = 1; t < threads; ++t)
    for (auto& [w, c] : partial[t]) counts[w] += c;
  return counts;
}

struct Word {
  std::vector<int32_t> syms;
  int64_t count;
};

// Words as byte symbols, sorted by their text so training is deterministic whatever the hash
// order of the counts (word indices fix the order of every later step).
std::vector<Word> byte_words(const WordCounts& counts) {
  std::vector<std::pair<std::string, int64_t>> sorted(counts.begin(), counts.end());
  std::sort(sorted.begin(), sorted.end());
  std::vector<Word> words;
  words.reserve(sorted.size());
  for (auto& [w, c] : sorted) {
    Word word{{}, c};
    for (unsigned char b : w) word.syms.push_back(b);
    words.push_back(std::move(word));
  }
  return words;
}

uint64_t pair_key(int32_t a, int32_t b) {
  return (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
}
int32_t pair_left(uint64_t k) {
  return static_cast<int32_t>(k >> 32);
}
int32_t pair_right(uint64_t k) {
  return static_cast<int32_t>(k & 0xFFFFFFFF);
}

// Greedy merge learning over the words: the live count of every adjacent symbol pair, the words
// each pair occurs in (so a merge rewrites only those words), and a max-heap of (count, pair)
// updated lazily: an entry whose count is out of date is requeued with the live count when it
// reaches the top, instead of being searched for on every change.
class MergeLearner {
 public:
  explicit MergeLearner(std::vector<Word> words) : words_(std::move(words)) {
    for (size_t w = 0; w < words_.size(); ++w) {
      const auto& s = words_[w].syms;
      for (size_t i = 0; i + 1 < s.size(); ++i) {
        const uint64_t k = pair_key(s[i], s[i + 1]);
        pair_count_[k] += words_[w].count;
        where_[k].push_back(static_cast<int32_t>(w));
      }
    }
    for (const auto& [k, c] : pair_count_) heap_.push({c, k});
  }

  // The most frequent pair into `key`; false when no pair is left or the most frequent one is
  // rarer than min_frequency.
  bool next_pair(int64_t min_frequency, uint64_t& key) {
    while (!heap_.empty()) {
      const auto [c, k] = heap_.top();
      heap_.pop();
      auto it = pair_count_.find(k);
      const int64_t current = it == pair_count_.end() ? 0 : it->second;
      if (current != c) {  // stale entry: requeue with the live count
        if (current > 0) heap_.push({current, k});
        continue;
      }
      if (c < min_frequency) return false;
      key = k;
      return true;
    }
    return false;
  }

  // Replaces every occurrence of pair k in the words by the symbol id, then applies the changes
  // to the pair counts at once (counts of the pairs around each occurrence move to new pairs).
  void merge(uint64_t k, int32_t id) {
    std::unordered_map<uint64_t, int64_t> delta;
    std::vector<int32_t> occurs = std::move(where_[k]);
    where_.erase(k);
    // A word is listed once per occurrence of the pair; rewrite each word once, in index order.
    std::sort(occurs.begin(), occurs.end());
    occurs.erase(std::unique(occurs.begin(), occurs.end()), occurs.end());
    for (int32_t w : occurs) merge_in_word(w, k, id, delta);
    for (const auto& [dk, dv] : delta) {
      int64_t& pc = pair_count_[dk];
      pc += dv;
      if (pc <= 0) {
        pair_count_.erase(dk);
      } else if (dv > 0) {  // a count that only fell is found stale when popped
        heap_.push({pc, dk});
      }
    }
  }

 private:
  // Merges the occurrences of pair k in word w left to right (non-overlapping, so "aaa" with
  // pair (a, a) becomes "Aa"), recording the pair-count changes in delta.
  void merge_in_word(int32_t w, uint64_t k, int32_t id,
                     std::unordered_map<uint64_t, int64_t>& delta) {
    const int32_t a = pair_left(k), b = pair_right(k);
    auto& s = words_[w].syms;
    const int64_t wc = words_[w].count;
    for (size_t i = 0; i + 1 < s.size();) {
      if (s[i] != a || s[i + 1] != b) {
        ++i;
        continue;
      }
      if (i > 0) {
        delta[pair_key(s[i - 1], a)] -= wc;
        delta[pair_key(s[i - 1], id)] += wc;
        where_[pair_key(s[i - 1], id)].push_back(w);
      }
      if (i + 2 < s.size()) {
        delta[pair_key(b, s[i + 2])] -= wc;
        delta[pair_key(id, s[i + 2])] += wc;
        where_[pair_key(id, s[i + 2])].push_back(w);
      }
      delta[k] -= wc;
      s[i] = id;
      s.erase(s.begin() + i + 1);
      ++i;
    }
  }

  // Max-heap on (count, then the smaller pair key): ties resolve the same way on every run.
  using Entry = std::pair<int64_t, uint64_t>;
  struct HeapOrder {
    bool operator()(const Entry& a, const Entry& b) const {
      return a.first != b.first ? a.first < b.first : a.second > b.second;
    }
  };

  std::vector<Word> words_;
  std::unordered_map<uint64_t, int64_t> pair_count_;
  std::unordered_map<uint64_t, std::vector<int32_t>> where_;
  std::priority_queue<Entry, std::vector<Entry>, HeapOrder> heap_;
};

// Learns up to target_merges merges; each new token is the concatenation of its pair's bytes
// and takes the next id after the current vocabulary.
void learn_merges(std::vector<Word> words, int target_merges, int64_t min_frequency,
                  std::vector<std::string>& token_bytes, std::vector<BpeModel::Merge>& merges) {
  MergeLearner learner(std::move(words));
  uint64_t k = 0;
  while (static_cast<int>(merges.size()) < target_merges && learner.next_pair(min_frequency, k)) {
    const int32_t a = pair_left(k), b = pair_right(k);
    const int32_t id = static_cast<int32_t>(token_bytes.size());
    token_bytes.push_back(token_bytes[a] + token_bytes[b]);
    merges.push_back({a, b, id});
    learner.merge(k, id);
  }
}

// The tokenizer of the learned vocabulary, special tokens after it in the order given, with
// roles by Qwen's convention when those tokens are present.
Tokenizer build_tokenizer(std::vector<std::string> token_bytes, std::vector<BpeModel::Merge> merges,
                          const BpeTrainerOptions& opt) {
  std::vector<AddedToken> added;
  for (const auto& sp : opt.special_tokens)
    added.push_back({sp, static_cast<int32_t>(token_bytes.size() + added.size())});
  Tokenizer t =
      Tokenizer::from_parts(std::move(token_bytes), std::move(merges), std::move(added), opt.nfc);
  SpecialRoles roles;
  auto has = [&](const char* s) {
    return std::find(opt.special_tokens.begin(), opt.special_tokens.end(), s) !=
           opt.special_tokens.end();
  };
  if (has("<|endoftext|>")) roles.pad = roles.eos = "<|endoftext|>";
  if (has("<|im_end|>")) roles.eos = "<|im_end|>";
  t.set_roles(roles);
  return t;
}
}  // namespace

Tokenizer train_bpe(const std::vector<std::string_view>& texts, const BpeTrainerOptions& opt) {
  const int n_special = static_cast<int>(opt.special_tokens.size());
  TANDEM_CHECK(opt.vocab_size >= 256 + n_special,
               "[train-tokenizer] vocab size {} is below 256 byte tokens + {} special tokens",
               opt.vocab_size, n_special);
  const int threads = std::max(opt.threads, 1);
  std::vector<Word> words = byte_words(count_words_parallel(texts, opt, threads));

  // The base alphabet: every byte is a token (ids 0..255), so any input stays encodable.
  std::vector<std::string> token_bytes(256);
  for (int b = 0; b < 256; ++b) token_bytes[b] = std::string(1, static_cast<char>(b));
  std::vector<BpeModel::Merge> merges;
  learn_merges(std::move(words), opt.vocab_size - 256 - n_special, opt.min_frequency, token_bytes,
               merges);
  return build_tokenizer(std::move(token_bytes), std::move(merges), opt);
}

Tokenizer train_bpe_files(const std::vector<std::string>& paths, const BpeTrainerOptions& opt) {
  std::vector<std::string> contents;
  for (const auto& p : paths) {
    std::ifstream in(p, std::ios::binary);
    TANDEM_CHECK(in, "{}: cannot open", p);
    std::stringstream ss;
    ss << in.rdbuf();
    contents.push_back(ss.str());
  }
  std::vector<std::string_view> views(contents.begin(), contents.end());
  return train_bpe(views, opt);
}

}  // namespace tandem
