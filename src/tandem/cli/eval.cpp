// tandem eval: held-out exact-match accuracy of a model directory on a task, per level.
#include <cstdio>

#include "tandem/cli/commands.h"
#include "tandem/core/progress.h"
#include "tandem/data/tasks/task.h"
#include "tandem/recipes/model_dir.h"
#include "tandem/rl/rollout.h"

namespace tandem::cli {

void add_eval_command(CLI::App& app) {
  struct Args {
    std::string model, task = "arithmetic", backend = "cpu";
    std::vector<int> levels;
    int problems = 1000, traces = 0;
    uint64_t seed = 1;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("eval", "Held-out accuracy of a model on a task, per level");
  cmd->add_option("model", a->model, "Model directory (a run's model/ or a checkpoint)")->required();
  cmd->add_option("--task", a->task, "arithmetic or countdown")->capture_default_str();
  cmd->add_option("--levels", a->levels, "Levels to evaluate (default: all)")->delimiter(',');
  cmd->add_option("--problems", a->problems, "Held-out problems per level")
      ->capture_default_str()->check(kPositive);
  cmd->add_option("--seed", a->seed, "Which held-out problems")->capture_default_str();
  cmd->add_option("--traces", a->traces, "Print this many completions per level")->capture_default_str();
  cmd->add_option("--backend", a->backend, "cpu or cuda")->capture_default_str();
  cmd->callback([a] {
    const LoadedModel lm = load_model(a->model, a->backend);
    const auto task = tasks::make_task(a->task);
    std::vector<int> levels = a->levels;
    if (levels.empty())
      for (int l = 1; l <= task->num_levels(); ++l) levels.push_back(l);
    std::printf("%-6s %-28s %9s %9s %12s\n", "level", "what", "accuracy", "formed", "mean tokens");
    for (int level : levels) {
      std::vector<Rollout> rollouts;
      const LevelAccuracy acc = evaluate_level(*lm.model, lm.tokenizer, *task, level, a->problems,
                                               a->seed, 64, a->traces > 0 ? &rollouts : nullptr);
      std::printf("%-6d %-28s %8.1f%% %8.1f%% %12.1f\n", level, task->level_name(level).c_str(),
                  100 * acc.accuracy, 100 * acc.format_rate, acc.mean_tokens);
      for (int i = 0; i < a->traces && i < int(rollouts.size()); ++i)
        std::printf("--- %s%s\n[%s]\n", rollouts[i].problem.prompt.c_str(), rollouts[i].completion.text.c_str(),
                    rollouts[i].score.correct ? "correct" : rollouts[i].score.reason.c_str());
    }
  });
}

}  // namespace tandem::cli
