#pragma once
// Integer arithmetic with a column-by-column scratchpad a tiny byte-level transformer can execute:
// least-significant digit first, one fixed-width line per column that restates the digits it uses
// and the carry (or borrow) coming in. Levels and formats: docs/tasks.md.
#include "tandem/data/tasks/task.h"

namespace tandem::tasks {

class ArithmeticTask : public Task {
 public:
  explicit ArithmeticTask(RewardWeights weights = {}) : Task(weights) {}
  std::string name() const override { return "arithmetic"; }
  int num_levels() const override;
  std::string level_name(int level) const override;
  Problem sample(int level, Split split, uint64_t seed, uint64_t index) const override;

  // The problem "a op b" (op one of + - *) at `level`, with its worked solution. Exposed so tests
  // and tools can enumerate a level; sample() draws (op, a, b) and calls it.
  Problem make(int level, char op, int64_t a, int64_t b) const;

 protected:
  Verdict check_answer(const Problem& problem, std::string_view answer) const override;
};

}  // namespace tandem::tasks
