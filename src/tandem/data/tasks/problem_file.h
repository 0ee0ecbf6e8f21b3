#pragma once
// A task whose problems come from the user's JSONL file and whose rewards come from a named
// verifier or an outside program (docs/data.md, "GRPO on your own problems"). Records:
// {"prompt": "...", "answer": "...", "level": 2} (level optional, 1 by default), or chat messages
// ({"messages": [...], "answer": ...}: the last user message is the prompt). A record's split
// (train or held-out) is a hash of its prompt, as the built-in tasks' is of the problem, so it
// does not move with the seed or the order of the file.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "tandem/data/tasks/task.h"

namespace tandem::tasks {

struct VerifierSpec {
  // exact: the final answer (after "Answer: " in the envelope, docs/tasks.md) equals the record's,
  //        spaces around it ignored;
  // numeric: both parse as numbers within `tolerance` (absolute, or relative to the expected
  //        value when that is larger than 1);
  // regex: the final answer matches the record's answer, a POSIX extended regular expression,
  //        in full;
  // cmd:   `command` gets {"prompt", "answer", "completion", "level"} as one JSON line on stdin
  //        and prints a reward (a number; correct when >= 1) or {"reward": x, "correct": bool}.
  std::string kind = "exact";
  double tolerance = 1e-6;
  std::string command;
  double timeout_s = 10;  // per completion; past it the program is killed and the reward is 0
  int parallel = 8;       // programs running at once
};

class ProblemFileTask final : public Task {
 public:
  // Reads and checks the whole file (errors name file, line and field); `heldout_fraction` of the
  // records (by prompt hash) are held out for evaluation.
  ProblemFileTask(const std::string& path, VerifierSpec verifier, double heldout_fraction,
                  RewardWeights weights = {});

  std::string name() const override { return path_; }
  int num_levels() const override { return int(levels_.size()); }
  std::string level_name(int level) const override;
  // Problem `index` of the split's records at that level, in an order shuffled by the seed
  // (index wraps around). Throws naming the file when that level has none in that split.
  Problem sample(int level, Split split, uint64_t seed, uint64_t index) const override;
  Score score(const Problem& problem, std::string_view completion) const override;
  std::vector<Score> score_all(const std::vector<Problem>& problems,
                               const std::vector<std::string_view>& completions) const override;

  uint64_t count(int level, Split split) const override;

 protected:
  Verdict check_answer(const Problem& problem, std::string_view answer) const override;

 private:
  Score score_by_command(const Problem& problem, std::string_view completion) const;

  std::string path_;
  VerifierSpec verifier_;
  struct Level {
    std::vector<Problem> train, heldout;
  };
  std::vector<Level> levels_;  // level l at l - 1
};

// "exact", "numeric", "regex" or "cmd"; throws ConfigError naming `verifier` otherwise.
void check_verifier(const VerifierSpec& spec);

}  // namespace tandem::tasks
