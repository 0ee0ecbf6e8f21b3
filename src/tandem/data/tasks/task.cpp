#include "tandem/data/tasks/task.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "tandem/core/error.h"
#include "tandem/data/tasks/arithmetic.h"
#include "tandem/data/tasks/completion.h"
#include "tandem/data/tasks/countdown.h"

namespace tandem::tasks {

const char* split_name(Split split) {
  return split == Split::Heldout ? "heldout" : "train";
}

Score Task::score(const Problem& problem, std::string_view completion) const {
  Score s;
  const Envelope env = parse_envelope(completion);
  if (!env.ok) {
    s.reason = env.reason;
    return s;
  }
  const Verdict v = check_answer(problem, env.answer);
  s.well_formed = v.well_formed;
  s.correct = v.well_formed && v.correct;
  s.reason = s.correct ? std::string() : v.reason;
  s.reward = (s.correct ? weights_.correct : 0.0) + (s.well_formed ? weights_.format : 0.0);
  return s;
}

std::vector<Score> Task::score_all(const std::vector<Problem>& problems,
                                   const std::vector<std::string_view>& completions) const {
  TANDEM_CHECK(problems.size() == completions.size(), "[tasks] {} problems, {} completions",
               problems.size(), completions.size());
  std::vector<Score> out;
  for (size_t i = 0; i < problems.size(); ++i) out.push_back(score(problems[i], completions[i]));
  return out;
}

void Task::check_level(int level) const {
  TANDEM_CHECK(level >= 1 && level <= num_levels(), "[tasks] {}: level {} out of range 1..{}",
               name(), level, num_levels());
}

std::vector<std::string> task_names() {
  return {"arithmetic", "countdown"};
}

std::unique_ptr<Task> make_task(const std::string& name, RewardWeights weights) {
  if (name == "arithmetic") return std::make_unique<ArithmeticTask>(weights);
  if (name == "countdown") return std::make_unique<CountdownTask>(weights);
  fail("[tasks] unknown task '{}'; valid: {}", name, fmt::join(task_names(), ", "));
}

}  // namespace tandem::tasks
