#pragma once
// A user's training data: JSONL and plain-text files, read streaming (io/line_file.h: 8 bytes of
// index per record, records read back on demand), validated once when opened, shuffled by a
// seeded permutation that needs no table (data/permutation.h), split into train and validation
// records, and mixed by weight. Row g of the run is a pure function of g and these options, so
// the data position in a checkpoint is the batch count, as for the task source.
//
// Records (docs/data.md): a JSONL line holds {"messages": [{"role", "content"}, ...]} (chat,
// loss on assistant turns), {"prompt": ..., "completion": ...} (a user then an assistant turn) or
// {"text": ...} (pretraining); a .txt file's records are its paragraphs (blank-line separated),
// cut where one would outgrow the context.
#include <atomic>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/core/reporter.h"
#include "tandem/data/sft_batches.h"
#include "tandem/tokenizer/chat_template.h"
#include "tandem/tokenizer/tokenizer.h"

namespace tandem {

struct DataOptions {
  std::vector<std::string> files;
  std::vector<double> weights;  // one per file (relative share of rows); empty: 1 each
  double val_fraction = 0;      // of each file's records, held out for validation
  bool shuffle = true;          // false: file order, validation records last
  uint64_t seed = 1;
  bool keep_thinking = true;    // false: <think> blocks are dropped from assistant turns
  bool skip_bad = false;        // false: a malformed line stops with its file and line number
  bool skip_long = false;       // records over max_tokens: false truncates them, true skips them
  int max_tokens = 0;           // tokens an example may hold (the context + 1); 0: no limit
};

// One record, parsed and checked but not tokenized. Throws tandem::Error "<where>: ..." naming
// the field and what was expected.
struct DataRecord {
  enum class Kind { Chat, Text } kind = Kind::Chat;
  std::vector<ChatMessage> messages;  // Chat
  std::string text;                   // Text
};
DataRecord parse_record(std::string_view line, const std::string& where);
Example record_example(const DataRecord& record, const Tokenizer& tok, bool keep_thinking);

class Dataset final : public ExampleSource {
 public:
  struct FileInfo {
    std::string path;
    std::string kind;  // "jsonl" or "txt"
    uint64_t bytes = 0, records = 0, bad_lines = 0, train = 0, val = 0;
    double weight = 1;
  };

  // Reads and checks every file (a progress bar on `progress`, when given). Errors name the file
  // and line; a dataset with no training record, or an unknown file type, is a one-line error.
  Dataset(const DataOptions& options, const Tokenizer& tok, Reporter* progress = nullptr);
  ~Dataset() override;

  Example example(uint64_t row) const override;  // training row g
  // Packed rows let a training record run on over several rows: it is cut (or skipped) only
  // past `max_tokens`, not the context. Validation records keep the options' limit.
  void set_train_max_tokens(int max_tokens) { train_max_tokens_ = max_tokens; }
  uint64_t val_size() const { return val_total_; }
  Example val_example(uint64_t k) const;         // validation record k, 0 <= k < val_size()

  const std::vector<FileInfo>& files() const { return info_; }
  uint64_t train_size() const;
  bool text_only() const { return chat_records_ == 0; }  // every record is text (pretraining)
  // Examples cut to max_tokens, or skipped for it, since the dataset was opened.
  int64_t truncated() const { return truncated_.load(); }
  int64_t skipped_long() const { return skipped_long_.load(); }
  // The first bad lines skipped (skip_bad), as "<file>:<line>: <reason>".
  const std::vector<std::string>& bad_line_samples() const { return bad_samples_; }
  // What identifies the data and its treatment, for a checkpoint's settings.
  nlohmann::json describe() const;

 private:
  struct Source;
  Example limited(Example ex, int max_tokens) const;
  Example record_at(size_t file, uint64_t record, int max_tokens) const;

  DataOptions opt_;
  const Tokenizer& tok_;
  std::vector<std::unique_ptr<Source>> sources_;
  std::vector<FileInfo> info_;
  std::vector<std::string> bad_samples_;
  uint64_t val_total_ = 0, chat_records_ = 0;
  double weight_sum_ = 0;
  int train_max_tokens_ = 0;  // opt_.max_tokens, or more when rows are packed
  mutable std::atomic<int64_t> truncated_{0}, skipped_long_{0};
};

}  // namespace tandem
