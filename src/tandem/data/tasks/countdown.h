#pragma once
// Countdown: reach a target from a few numbers with + - * / and parentheses, using every given
// number exactly once (division must be exact). Solvable by construction: the target is the value
// of a random expression over the numbers, and that expression's steps are the worked solution.
#include "tandem/data/tasks/task.h"

namespace tandem::tasks {

class CountdownTask : public Task {
 public:
  explicit CountdownTask(RewardWeights weights = {}) : Task(weights) {}
  std::string name() const override { return "countdown"; }
  int num_levels() const override;
  std::string level_name(int level) const override;
  Problem sample(int level, Split split, uint64_t seed, uint64_t index) const override;

 protected:
  Verdict check_answer(const Problem& problem, std::string_view answer) const override;
};

}  // namespace tandem::tasks
