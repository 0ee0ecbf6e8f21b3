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

// Examples first .. first + n - 1 of batch batch_index (B examples in all): a micro-batch. With
// row_tokens = 0, one example per row, padded with `pad` to the longest (no loss on padding);
// else laid out pad-free by pack_examples.
Batch sft_batch(const ExampleSource& source, int32_t pad, int64_t batch_index, int B, int first,
                int n, int row_tokens = 0);
// The examples as one batch, padded to the longest (at least one position).
Batch pad_batch(const std::vector<Example>& rows, int32_t pad);
// The examples whole, end to end, in rows of about row_tokens (or the longest example, if longer):
// the fewest rows that hold them within that length, longest first onto the shortest row, each
// row's examples in their given order, padding only at the rows' ends up to the longest row.
// Batch::pos keeps attention and positions to each example, so the loss and gradients are those
// of pad_batch's rows from fewer positions (the demo's problems: 2.5% padding instead of 16%).
Batch pack_examples(const std::vector<Example>& examples, int32_t pad, int row_tokens);

}  // namespace tandem
