// tandem eval: held-out exact-match accuracy of a model directory on a task, per level
// (recipes/evaluation.h).
#include "tandem/backend/backend.h"
#include "tandem/cli/commands.h"
#include "tandem/cli/flags.h"
#include "tandem/recipes/evaluation.h"

namespace tandem::cli {

void add_eval_command(CLI::App& app) {
  auto a = std::make_shared<EvalJob>();
  auto* cmd = app.add_subcommand("eval", "Held-out accuracy of a model on a task, per level");
  cmd->add_option("model", a->model_dir, "Model directory (a run's model/ or a checkpoint)")
      ->required();
  cmd->add_option("--task", a->task, "arithmetic or countdown")->capture_default_str();
  cmd->add_option("--levels", a->levels, "Levels to evaluate (default: all)")->delimiter(',');
  cmd->add_option("--problems", a->problems, "Held-out problems per level")
      ->capture_default_str()->check(kPositive);
  cmd->add_option("--seed", a->seed, "Which held-out problems")->capture_default_str();
  cmd->add_option("--traces", a->traces, "Print this many completions per level")
      ->capture_default_str();
  cmd->add_option("--backend", a->backend, "Device backend: " + backend_choices())
      ->capture_default_str();
  cmd->callback([a] {
    ConsoleReporter reporter = console();
    run_eval(*a, reporter);
  });
}

}  // namespace tandem::cli
