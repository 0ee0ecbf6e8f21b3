#pragma once
// Supervised batches. Row g of a run (batch i, row r of B: g = i * B + r) is a pure function of g
// and the source's settings (seed included), so a resumed run sees exactly the batches it would
// have seen: the data position is just the batch count. Two sources: a task's generated problems
// (TaskExamples, below) and a user's files (Dataset, data/dataset.h).
#include <cstdint>
#include <vector>

#include "tandem/data/batch.h"
#include "tandem/data/example.h"
#include "tandem/data/tasks/task.h"
#include "tandem/tokenizer/tokenizer.h"

namespace tandem {

class ExampleSource {
 public:
  virtual ~ExampleSource() = default;
  virtual Example example(uint64_t row) const = 0;  // the run's row g
};

struct SftMix {
  std::vector<int> levels;       // which levels to draw from
  std::vector<double> weights;   // relative frequency of each level (same length)
};

// Row g is training problem number g of the task, its level drawn from the mix, chat-formatted
// (data/chat_format.h): loss on the worked solution and the stop token.
class TaskExamples final : public ExampleSource {
 public:
  TaskExamples(const tasks::Task& task, const Tokenizer& tok, SftMix mix, uint64_t seed);
  Example example(uint64_t row) const override;
  // What example(row) formats; the held-out split's problem with that level and index instead.
  tasks::Problem problem(uint64_t row, tasks::Split split = tasks::Split::Train) const;

 private:
  const tasks::Task& task_;
  const Tokenizer& tok_;
  SftMix mix_;
  uint64_t seed_;
};

// Rows first_row .. first_row + n_rows - 1 of batch batch_index (B rows in all): a micro-batch,
// padded with `pad` to its own longest row (no loss on padding).
Batch sft_batch(const ExampleSource& source, int32_t pad, int64_t batch_index, int B,
                int first_row, int n_rows);
// The examples as one batch, padded to the longest (at least one position).
Batch pad_batch(const std::vector<Example>& rows, int32_t pad);

}  // namespace tandem
