#pragma once
// Reasoning tasks: problem generators with worked solutions, and strict verifiers that turn a
// model's completion into a reward. One interface serves supervised training (prompt + solution
// is the training text) and GRPO (prompt is the rollout input, score() is the reward).
// Formats, levels and rewards are described in docs/tasks.md.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::tasks {

// Which side of the train/held-out partition a problem lives on. The partition is a property of
// the problem itself (a hash of its canonical form), never of the seed or index that drew it.
enum class Split { Train, Heldout };
const char* split_name(Split split);

struct Problem {
  std::string prompt;    // what the model is given; ends with '\n' so prompt + solution is one text
  std::string solution;  // the ideal completion: "<think>\n...\n</think>\nAnswer: X" (no newline)
  std::string answer;    // the value the final answer must have: arithmetic the integer result,
                         // countdown the target (any expression reaching it is accepted)
  std::vector<int64_t>
      numbers;      // the operands as data: arithmetic {a, b}, countdown the given numbers
  int level = 0;    // 1-based
  uint64_t id = 0;  // hash of the canonical form: equal problems have equal ids
};

struct Score {
  double reward = 0;         // weights.correct * correct + weights.format * well_formed
  bool correct = false;      // well formed and the answer is right
  bool well_formed = false;  // the envelope is exact and the answer parses (docs/tasks.md)
  std::string reason;        // empty when correct; otherwise why not, for tests and logs
  bool verifier_failed = false;  // the judge itself failed (an outside program): reward 0
};

// GRPO reward weights. An accuracy reward alone gives no signal until something is right; a small
// format reward keeps the model inside the envelope the verifier can read.
struct RewardWeights {
  double correct = 1.0;  // added when the answer is right
  double format = 0.1;   // added when the completion is well formed (right or not)
};

class Task {
 public:
  explicit Task(RewardWeights weights) : weights_(weights) {}
  virtual ~Task() = default;

  virtual std::string name() const = 0;
  virtual int num_levels() const = 0;  // levels are 1..num_levels()
  virtual std::string level_name(int level) const = 0;
  // A pure function of its arguments: the same call always returns the same problem, on any
  // machine. Throws tandem::Error for a level out of range.
  virtual Problem sample(int level, Split split, uint64_t seed, uint64_t index) const = 0;
  // How many distinct problems sample() draws from at that level and split (a generator: as
  // good as unbounded; a file: its records, after which sample() wraps around).
  virtual uint64_t count(int level, Split split) const {
    (void)level, (void)split;
    return UINT64_MAX;
  }

  // Strictly checks the envelope, then the task's answer. Never throws on model output.
  virtual Score score(const Problem& problem, std::string_view completion) const;
  // score() of each problems[i] and completions[i]; a judge that runs outside the process (an
  // outside program) judges them concurrently.
  virtual std::vector<Score> score_all(const std::vector<Problem>& problems,
                                       const std::vector<std::string_view>& completions) const;
  const RewardWeights& weights() const { return weights_; }

 protected:
  struct Verdict {
    bool well_formed = false;
    bool correct = false;
    std::string reason;
  };
  // Judges the text after "Answer: " (envelope already checked, no newline inside).
  virtual Verdict check_answer(const Problem& problem, std::string_view answer) const = 0;
  void check_level(int level) const;  // throws tandem::Error naming the valid range

 private:
  RewardWeights weights_;
};

// "arithmetic" or "countdown"; throws tandem::Error listing the valid names otherwise.
std::unique_ptr<Task> make_task(const std::string& name, RewardWeights weights = {});
std::vector<std::string> task_names();

}  // namespace tandem::tasks
