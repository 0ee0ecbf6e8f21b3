#include "tandem/tokenizer/tokenizer.h"


#include <algorithm>
#include <atomic>

#include "tandem/core/error.h"
#include "tandem/tokenizer/byte_level.h"
#include "tandem/tokenizer/piece_cache.h"
#include "tandem/tokenizer/pretokenizer.h"
#include "tandem/tokenizer/unicode.h"

namespace tandem {
namespace {
std::atomic<uint64_t> g_next_owner{1};

PieceCache& thread_cache() {
  thread_local PieceCache cache;
  return cache;
}

bool is_js_space(std::string_view s, size_t i, int& len) {
  uint32_t cp;
  len = unicode::decode_utf8(s, i, cp);
  return cp != unicode::kInvalid && (unicode::flags(cp) & unicode::kSpace);
}

// JavaScript's trimEnd / trimStart, which the reference applies around lstrip/rstrip tokens.
std::string_view trim_end(std::string_view s) {
  while (!s.empty()) {
    size_t i = s.size() - 1;
    while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
    int len;
    if (!is_js_space(s, i, len) || i + len != s.size()) break;
    s = s.substr(0, i);
  }
  return s;
}
std::string_view trim_start(std::string_view s) {
  int len;
  while (!s.empty() && is_js_space(s, 0, len)) s.remove_prefix(len);
  return s;
}
}  // namespace

void Tokenizer::finish() {
  cache_owner_ = g_next_owner.fetch_add(1);
  int32_t max_id = static_cast<int32_t>(model_.size()) - 1;
  for (const auto& a : added_) max_id = std::max(max_id, a.id);
  vocab_size_ = max_id + 1;
  vocab_text_.clear();
  for (size_t id = 0; id < model_.size(); ++id)
    if (!model_.bytes_of(static_cast<int32_t>(id)).empty())
      vocab_text_.emplace(byte_level::encode(model_.bytes_of(static_cast<int32_t>(id))),
                          static_cast<int32_t>(id));
  added_of_id_.assign(vocab_size_, -1);
  added_by_byte_.assign(256, {});
  added_first_.fill(false);
  added_has_newline_ = false;
  for (size_t i = 0; i < added_.size(); ++i) {
    const auto& a = added_[i];
    added_of_id_[a.id] = static_cast<int>(i);
    if (a.content.empty()) continue;
    const auto b = static_cast<uint8_t>(a.content[0]);
    added_by_byte_[b].push_back(static_cast<int>(i));
    added_first_[b] = true;
    if (a.content.find('\n') != std::string::npos) added_has_newline_ = true;
  }
  // Longest first, so the first hit at a position is the longest match.
  for (auto& list : added_by_byte_)
    std::stable_sort(list.begin(), list.end(), [&](int x, int y) {
      return added_[x].content.size() > added_[y].content.size();
    });
}

int Tokenizer::match_added(std::string_view text, size_t pos, bool allow_special) const {
  for (int i : added_by_byte_[static_cast<uint8_t>(text[pos])]) {
    const auto& a = added_[i];
    if (!allow_special && a.special) continue;
    if (text.compare(pos, a.content.size(), a.content) == 0) return i;
  }
  return -1;
}

void Tokenizer::encode_text(std::string_view text, std::vector<int32_t>& out) const {
  if (text.empty()) return;
  std::string normalized;
  if (nfc_ && unicode::nfc(text, normalized)) text = normalized;
  PieceCache& cache = thread_cache();
  std::vector<int32_t> tmp;
  split_qwen(text, [&](std::string_view piece) {
    if (piece.size() > PieceCache::kMaxPiece) {
      model_.encode_piece(piece, out);
      return;
    }
    const uint64_t h = PieceCache::hash(piece);
    size_t n = 0;
    if (const int32_t* ids = cache.find(cache_owner_, piece, h, n)) {
      out.insert(out.end(), ids, ids + n);
      return;
    }
    tmp.clear();
    model_.encode_piece(piece, tmp);
    cache.insert(piece, h, tmp.data(), tmp.size());
    out.insert(out.end(), tmp.begin(), tmp.end());
  });
}

void Tokenizer::encode_into(std::string_view text, bool allow_special,
                            std::vector<int32_t>& out) const {
  // Segments between added tokens; an added token with lstrip/rstrip trims the neighbours'
  // whitespace, as the reference does.
  size_t seg_start = 0;
  int pending_rstrip = 0;
  for (size_t pos = 0; pos < text.size();) {
    if (!added_first_[static_cast<uint8_t>(text[pos])]) {
      ++pos;
      continue;
    }
    const int m = match_added(text, pos, allow_special);
    if (m < 0) {
      ++pos;
      continue;
    }
    std::string_view seg = text.substr(seg_start, pos - seg_start);
    if (pending_rstrip) seg = trim_start(seg);
    if (added_[m].lstrip) seg = trim_end(seg);
    encode_text(seg, out);
    out.push_back(added_[m].id);
    pos += added_[m].content.size();
    seg_start = pos;
    pending_rstrip = added_[m].rstrip;
  }
  std::string_view seg = text.substr(seg_start);
  if (pending_rstrip) seg = trim_start(seg);
  encode_text(seg, out);
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool allow_special) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 8);
  encode_into(text, allow_special, out);
  return out;
}

std::vector<int32_t> Tokenizer::encode_parallel(std::string_view text, int threads,
                                                bool allow_special) const {
  if (threads <= 1 || text.size() < (1u << 16) || added_has_newline_)
    return encode(text, allow_special);
  // Cut after a '\n' that is followed by an ASCII non-space byte that starts no added token:
  // no added token, NFC stretch or pre-tokenizer piece can span such a point, so the chunks
  // encode independently to exactly the ids of the whole.
  std::vector<size_t> cuts{0};
  const size_t step = text.size() / (threads * 4);
  for (size_t target = step; target < text.size(); target += step) {
    size_t p = std::max(target, cuts.back() + 1);
    while (p < text.size()) {
      const auto c = static_cast<unsigned char>(text[p]);
      if (text[p - 1] == '\n' && c < 0x80 && c > ' ' && !added_first_[c]) break;
      ++p;
    }
    if (p >= text.size()) break;
    cuts.push_back(p);
    target = p;
  }
  cuts.push_back(text.size());
  const size_t chunks = cuts.size() - 1;
  std::vector<std::vector<int32_t>> parts(chunks);
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
  for (size_t i = 0; i < chunks; ++i)
    encode_into(text.substr(cuts[i], cuts[i + 1] - cuts[i]), allow_special, parts[i]);
  size_t total = 0;
  for (const auto& p : parts) total += p.size();
  std::vector<int32_t> out;
  out.reserve(total);
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
  std::string out;
  for (int32_t id : ids) {
    TANDEM_CHECK(id >= 0 && id < vocab_size_, "[tokenizer] decode: token id {} is outside [0, {})",
                 id, vocab_size_);
    if (added_of_id_[id] >= 0) {
      out += added_[added_of_id_[id]].content;
    } else if (static_cast<size_t>(id) < model_.size()) {
      out += model_.bytes_of(id);
    }
  }
  return out;
}

int32_t Tokenizer::find_token(std::string_view token) const {
  for (const auto& a : added_)
    if (a.content == token) return a.id;
  auto it = vocab_text_.find(std::string(token));
  return it == vocab_text_.end() ? -1 : it->second;
}

int32_t Tokenizer::token_id(std::string_view token) const {
  const int32_t id = find_token(token);
  TANDEM_CHECK(id >= 0, "[tokenizer] unknown token \"{}\"", token);
  return id;
}

std::string Tokenizer::token_text(int32_t id) const {
  TANDEM_CHECK(id >= 0 && id < vocab_size_, "[tokenizer] token id {} is outside [0, {})", id,
               vocab_size_);
  if (added_of_id_[id] >= 0) return added_[added_of_id_[id]].content;
  if (static_cast<size_t>(id) < model_.size()) return byte_level::encode(model_.bytes_of(id));
  return {};
}

}  // namespace tandem
