#pragma once
// `tandem task-data`: a task's generated problems written out as JSONL, in the formats a user's
// own data takes (docs/data.md): chat records for `tandem train --data`, problem records
// ({"prompt", "answer", "level"}) for rewards. Record g is row g of a supervised run on the task
// with the same seed, levels and weights, so training on the file with --no-shuffle and
// --val-fraction 0 sees what the built-in path sees, in the same order.
#include <cstdint>
#include <string>
#include <vector>

#include "tandem/core/reporter.h"

namespace tandem {

struct TaskDataJob {
  std::string task = "arithmetic";
  std::vector<int> levels = {1, 2, 3, 4};
  std::vector<double> level_weights = {1, 1, 1, 1};
  uint64_t seed = 1;
  int64_t count = 1000;
  std::string format = "chat";  // "chat" or "problems"
  std::string split = "train";  // "train" or "heldout"
  std::string output;           // the .jsonl file (written atomically)
};

void run_task_data(const TaskDataJob& job, Reporter& reporter);

}  // namespace tandem
