#include "tandem/data/dataset.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <numeric>

#include "tandem/core/error.h"
#include "tandem/core/rng.h"
#include "tandem/data/chat_format.h"
#include "tandem/data/permutation.h"
#include "tandem/io/file.h"
#include "tandem/io/json_file.h"
#include "tandem/io/line_file.h"

namespace tandem {

namespace {
constexpr uint64_t kFileStream = 0xda7af11e;   // picks each row's file
constexpr uint64_t kShuffleStream = 0x5f1e00;  // + file << 32 + epoch: the permutations
constexpr size_t kBadSamples = 5;

bool ends_with(const std::string& s, std::string_view tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

void check_roles(const std::vector<ChatMessage>& messages, const std::string& where) {
  TANDEM_CHECK(!messages.empty(), "{}: field 'messages': expected at least one message", where);
  bool assistant = false;
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string& role = messages[i].role;
    TANDEM_CHECK(role == "system" || role == "user" || role == "assistant" || role == "tool",
                 "{}: field 'messages[{}].role': expected system, user, assistant or tool, got \"{}\"",
                 where, i, role);
    assistant = assistant || role == "assistant";
  }
  TANDEM_CHECK(assistant, "{}: field 'messages': no assistant message, so nothing to learn", where);
}
}  // namespace

DataRecord parse_record(std::string_view line, const std::string& where) {
  const nlohmann::json j = parse_json(line, where);
  const JsonFields f(j, where);
  DataRecord r;
  if (f.has("messages")) {
    r.kind = DataRecord::Kind::Chat;
    r.messages = chat_messages_from_json(j, where, nullptr);
    check_roles(r.messages, where);
  } else if (f.has("prompt") || f.has("completion")) {
    r.kind = DataRecord::Kind::Chat;
    r.messages = {{"user", f.get_string("prompt"), std::nullopt},
                  {"assistant", f.get_string("completion"), std::nullopt}};
  } else if (f.has("text")) {
    r.kind = DataRecord::Kind::Text;
    r.text = f.get_string("text");
    TANDEM_CHECK(!r.text.empty(), "{}: field 'text': expected some text, got an empty string", where);
  } else {
    f.missing("messages", "a chat record {\"messages\": [...]}, {\"prompt\", \"completion\"} or "
                          "{\"text\": ...}");
  }
  return r;
}

Example record_example(const DataRecord& record, const Tokenizer& tok, bool keep_thinking) {
  return record.kind == DataRecord::Kind::Text ? text_example(tok, record.text)
                                               : chat_training_example(tok, record.messages, keep_thinking);
}

// One file: its line index and, for .txt, where each record (a paragraph, or a piece of one that
// would outgrow the context) starts among the lines.
struct Dataset::Source {
  bool txt = false;
  LineFile lines;
  std::vector<uint64_t> first_line;  // .txt: record r is lines first_line[r] .. first_line[r+1]-1
  uint64_t records = 0, train = 0, val = 0;

  std::string text(uint64_t r) const {
    if (!txt) return lines.line(r);
    std::string out;
    for (uint64_t i = first_line[r]; i < first_line[r + 1]; ++i) {
      if (i > first_line[r]) out += '\n';
      out += lines.line(i);
    }
    return out;
  }
  std::string where(uint64_t r) const {
    return fmt::format("{}:{}", lines.path(), lines.line_number(txt ? first_line[r] : r));
  }
};

Dataset::Dataset(const DataOptions& options, const Tokenizer& tok, Reporter* progress)
    : opt_(options), tok_(tok) {
  TANDEM_CHECK(!opt_.files.empty(), "no data files given");
  if (opt_.weights.empty()) opt_.weights.assign(opt_.files.size(), 1.0);
  if (opt_.weights.size() != opt_.files.size())
    config_fail("`data_weights` needs one weight per data file ({}), got {}", opt_.files.size(),
                opt_.weights.size());
  for (double w : opt_.weights)
    if (!(w > 0)) config_fail("`data_weights` must be positive, got {}", w);
  weight_sum_ = std::accumulate(opt_.weights.begin(), opt_.weights.end(), 0.0);
  train_max_tokens_ = opt_.max_tokens;
  if (!(opt_.val_fraction >= 0 && opt_.val_fraction < 1))
    config_fail("`val_fraction` must be in [0, 1), got {}", opt_.val_fraction);
  for (size_t fi = 0; fi < opt_.files.size(); ++fi) {
    const std::string& path = opt_.files[fi];
    auto src = std::make_unique<Source>();
    FileInfo info;
    info.path = path, info.weight = opt_.weights[fi];
    src->txt = ends_with(path, ".txt");
    info.kind = src->txt ? "txt" : "jsonl";
    if (!src->txt && !ends_with(path, ".jsonl") && !ends_with(path, ".json"))
      fail("{}: unknown data file type: expected .jsonl (one JSON record per line) or .txt (plain "
           "text)", path);
    if (!std::filesystem::is_regular_file(path)) fail("{}: cannot open: not a file", path);
    if (progress) progress->begin("read " + std::filesystem::path(path).filename().string(), 100);
    const auto on_bytes = [&](uint64_t done, uint64_t total) {
      if (progress) progress->update(int64_t(total ? 100 * done / total : 100));
    };
    LineFile::Visit visit;
    uint64_t last_number = 0, kept = 0, piece_bytes = 0;  // .txt: the line before, and its piece
    if (src->txt) {
      // Paragraphs; a piece ends early where its bytes would pass ~0.9 x the context in tokens,
      // at the file's own bytes per token (measured on its first 64 KB).
      double bytes_per_token = 4;
      if (opt_.max_tokens > 0) {
        std::string head;
        read_file_chunks(path, [&](const char* d, size_t n) {
          if (head.size() < 65536) head.append(d, std::min(n, 65536 - head.size()));
        });
        const size_t n_tok = tok_.encode(head).size();
        if (n_tok > 0) bytes_per_token = double(head.size()) / double(n_tok);
      }
      const uint64_t budget = opt_.max_tokens > 0
                                  ? uint64_t(std::max(16.0, 0.9 * opt_.max_tokens * bytes_per_token))
                                  : UINT64_MAX;
      visit = [&, budget](std::string_view text, uint64_t number) {
        if (kept == 0 || number != last_number + 1 || piece_bytes + text.size() > budget) {
          src->first_line.push_back(kept);
          piece_bytes = 0;
        }
        last_number = number, piece_bytes += text.size() + 1, ++kept;
        return true;
      };
    } else {
      visit = [&](std::string_view text, uint64_t number) {
        const std::string where = fmt::format("{}:{}", path, number);
        try {
          if (parse_record(text, where).kind == DataRecord::Kind::Chat) ++chat_records_;
          return true;
        } catch (const Error& e) {
          if (!opt_.skip_bad) throw;
          ++info.bad_lines;
          if (bad_samples_.size() < kBadSamples) bad_samples_.push_back(e.what());
          return false;
        }
      };
    }
    src->lines = LineFile::open(path, visit, on_bytes);
    if (progress) progress->end();
    if (src->txt) src->first_line.push_back(src->lines.size());
    src->records = src->txt ? src->first_line.size() - 1 : src->lines.size();
    TANDEM_CHECK(src->records > 0, "{}: no records{}", path,
                 info.bad_lines ? fmt::format(" ({} bad lines skipped)", info.bad_lines) : "");
    src->val = opt_.val_fraction > 0
                   ? std::max<uint64_t>(1, uint64_t(opt_.val_fraction * double(src->records) + 0.5))
                   : 0;
    if (src->val >= src->records)
      config_fail("{}: {} record(s), all of them for validation (`val_fraction` {}): none left to "
                  "train on", path, src->records, opt_.val_fraction);
    src->train = src->records - src->val;
    info.bytes = src->lines.bytes(), info.records = src->records;
    info.train = src->train, info.val = src->val;
    val_total_ += src->val;
    info_.push_back(info);
    sources_.push_back(std::move(src));
  }
}

Dataset::~Dataset() = default;

uint64_t Dataset::train_size() const {
  uint64_t n = 0;
  for (const auto& s : sources_) n += s->train;
  return n;
}

Example Dataset::limited(Example ex, int max_tokens) const {
  if (max_tokens <= 0 || ex.tokens.size() <= size_t(max_tokens)) return ex;
  if (opt_.skip_long) {
    ++skipped_long_;
    return {};
  }
  ++truncated_;
  ex.tokens.resize(size_t(max_tokens));
  ex.loss.resize(size_t(max_tokens));
  ex.trim();
  return ex;
}

Example Dataset::record_at(size_t file, uint64_t record, int max_tokens) const {
  const Source& s = *sources_[file];
  if (s.txt) return limited(text_example(tok_, s.text(record)), max_tokens);
  // Checked when opened: an error now means the file changed since. Its line number costs a
  // read of the file up to it, so it is looked up only then.
  const std::string text = s.text(record);
  DataRecord parsed;
  try {
    parsed = parse_record(text, s.lines.path());
  } catch (const Error&) {
    parse_record(text, s.where(record));  // throws again, naming the line
    throw;
  }
  return limited(record_example(parsed, tok_, opt_.keep_thinking), max_tokens);
}

Example Dataset::example(uint64_t row) const {
  size_t f = 0;
  if (sources_.size() > 1) {  // the row's file, drawn by weight
    double u = Rng(opt_.seed, kFileStream).uniform(row) * weight_sum_;
    for (f = 0; f + 1 < sources_.size() && u >= opt_.weights[f]; ++f) u -= opt_.weights[f];
  }
  const Source& s = *sources_[f];
  // The file's training records in epochs: row g is position g mod n of epoch g / n.
  const uint64_t epoch = row / s.train, k = row % s.train;
  if (!opt_.shuffle) return record_at(f, k, train_max_tokens_);
  const uint64_t pos = Permutation(s.train, opt_.seed, kShuffleStream + (uint64_t(f) << 32) + epoch + 1)(k);
  return record_at(
      f, Permutation(s.records, opt_.seed, kShuffleStream + (uint64_t(f) << 32))(s.val + pos),
      train_max_tokens_);
}

Example Dataset::val_example(uint64_t k) const {
  TANDEM_CHECK(k < val_total_, "validation record {} of {} asked for", k, val_total_);
  size_t f = 0;
  while (k >= sources_[f]->val) k -= sources_[f]->val, ++f;
  const Source& s = *sources_[f];
  if (!opt_.shuffle) return record_at(f, s.train + k, opt_.max_tokens);
  return record_at(f, Permutation(s.records, opt_.seed, kShuffleStream + (uint64_t(f) << 32))(k),
                   opt_.max_tokens);
}

nlohmann::json Dataset::describe() const {
  nlohmann::json files = nlohmann::json::array();
  for (const FileInfo& i : info_)
    files.push_back({{"path", i.path}, {"bytes", i.bytes}, {"records", i.records},
                     {"weight", i.weight}});
  return {{"files", files},
          {"val_fraction", opt_.val_fraction},
          {"shuffle", opt_.shuffle},
          {"keep_thinking", opt_.keep_thinking},
          {"skip_long", opt_.skip_long}};
}

}  // namespace tandem
