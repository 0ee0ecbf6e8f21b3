#pragma once
// Supervised batches drawn from a task: batch i is a pure function of (seed, i), so a resumed run
// sees exactly the batches it would have seen (the data position is just the step count).
#include <cstdint>
#include <vector>

#include "tandem/data/tasks/task.h"
#include "tandem/tokenizer/tokenizer.h"
#include "tandem/data/batch.h"

namespace tandem {

struct SftMix {
  std::vector<int> levels;       // which levels to draw from
  std::vector<double> weights;   // relative frequency of each level (same length)
};

// B problems, one per row, padded to the longest row with the pad token (no loss on padding or on
// prompt tokens). Row r of batch i is training problem number i * B + r.
Batch sft_batch(const tasks::Task& task, const Tokenizer& tok, const SftMix& mix, uint64_t seed,
                int64_t batch_index, int B);
// Rows first_row .. first_row + rows - 1 of that batch alone (a micro-batch, padded to its own
// longest row).
Batch sft_batch(const tasks::Task& task, const Tokenizer& tok, const SftMix& mix, uint64_t seed,
                int64_t batch_index, int B, int first_row, int rows);

}  // namespace tandem
