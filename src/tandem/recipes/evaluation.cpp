#include "tandem/recipes/evaluation.h"

#include <fmt/format.h>

#include <array>

#include "tandem/core/error.h"
#include "tandem/recipes/model_dir.h"
#include "tandem/rl/rollout.h"

namespace tandem {

std::vector<LevelReport> evaluate_levels(const ModelWeights& model, const Tokenizer& tok,
                                         const tasks::Task& task, const EvalPlan& plan,
                                         MetricsLog& metrics, Reporter& reporter,
                                         Communicator& comm) {
  const Shards share = even_shards(size_t(plan.problems), comm.size());
  const int begin = int(share.of(comm.rank())), end = begin + int(share.size(comm.rank()));
  std::vector<int> levels = plan.levels;
  if (levels.empty())
    for (int l = 1; l <= task.num_levels(); ++l) levels.push_back(l);
  std::vector<LevelReport> out;
  for (int level : levels) {
    LevelReport rep;
    rep.level_name = task.level_name(level);
    std::vector<Rollout> rollouts;
    if (plan.progress) reporter.begin(fmt::format("eval level {}", level), plan.problems);
    LevelTally t = tally_level(model, tok, task, level, begin, end, plan.seed, 64,
                               plan.traces > 0 ? &rollouts : nullptr);
    std::array<double, 3> sums{t.correct, t.formed, t.tokens};
    comm.all_reduce_sum(sums);
    t = {sums[0], sums[1], sums[2]};
    rep.accuracy = accuracy_of(level, plan.problems, t);
    if (plan.progress) {
      reporter.update(plan.problems);
      reporter.end(fmt::format("accuracy {:.1f}%", 100 * rep.accuracy.accuracy));
    }
    metrics.write(records::Eval{plan.phase, plan.step, level, rep.accuracy.problems,
                                rep.accuracy.accuracy, rep.accuracy.format_rate,
                                rep.accuracy.mean_tokens, plan.final});
    for (int i = 0; i < plan.traces && i < int(rollouts.size()); ++i)
      rep.traces.push_back(rollouts[i]);
    out.push_back(std::move(rep));
  }
  return out;
}

void check_levels(const tasks::Task& task, const std::vector<int>& levels, const char* field) {
  for (int level : levels)
    if (level < 1 || level > task.num_levels())
      config_fail("`{}`: level {} is outside 1..{} (task '{}')", field, level, task.num_levels(),
                  task.name());
}

void run_eval(const EvalJob& job, Reporter& reporter) {
  const LoadedModel lm = load_model(job.model_dir, job.backend);
  const auto task = tasks::make_task(job.task);
  check_levels(*task, job.levels, "levels");
  std::vector<int> levels = job.levels;
  if (levels.empty())
    for (int l = 1; l <= task->num_levels(); ++l) levels.push_back(l);
  reporter.result(fmt::format("{:<6} {:<28} {:>9} {:>9} {:>12}\n", "level", "what", "accuracy",
                              "formed", "mean tokens"));
  for (int level : levels) {
    std::vector<Rollout> rollouts;
    const LevelAccuracy acc = evaluate_level(*lm.model, lm.tokenizer, *task, level, job.problems,
                                             job.seed, 64, job.traces > 0 ? &rollouts : nullptr);
    std::string out = fmt::format("{:<6} {:<28} {:8.1f}% {:8.1f}% {:12.1f}\n", level,
                                  task->level_name(level), 100 * acc.accuracy,
                                  100 * acc.format_rate, acc.mean_tokens);
    for (int i = 0; i < job.traces && i < int(rollouts.size()); ++i)
      out += fmt::format("--- {}{}\n[{}]\n", rollouts[i].problem.prompt,
                         rollouts[i].completion.text,
                         rollouts[i].score.correct ? "correct" : rollouts[i].score.reason);
    reporter.result(out);
  }
}

}  // namespace tandem
