// tandem task-data: a task's problems as JSONL, in the formats of the user's own data
// (recipes/task_data.h, docs/data.md).
#include "tandem/cli/commands.h"
#include "tandem/cli/flags.h"
#include "tandem/recipes/task_data.h"

namespace tandem::cli {

void add_task_data_command(CLI::App& app) {
  auto job = std::make_shared<TaskDataJob>();
  auto* cmd = app.add_subcommand(
      "task-data", "Write a task's problems as JSONL: chat records for train --data, or problems");
  cmd->add_option("-o,--output", job->output, "The .jsonl file to write")->required();
  cmd->add_option("--task", job->task, "arithmetic or countdown")->capture_default_str();
  cmd->add_option("--levels", job->levels, "Levels in the mix")->capture_default_str()->delimiter(',');
  cmd->add_option("--level-weights", job->level_weights, "Relative share of each level")
      ->capture_default_str()->delimiter(',');
  cmd->add_option("--seed", job->seed, "Seed (the same as train's gives its rows)")->capture_default_str();
  cmd->add_option("--count", job->count, "Records to write")->capture_default_str()->check(kPositive);
  cmd->add_option("--format", job->format,
                  "chat ({\"messages\": [user, assistant]}) or problems ({\"prompt\", \"answer\", "
                  "\"level\"})")
      ->capture_default_str()->check(CLI::IsMember({"chat", "problems"}));
  cmd->add_option("--split", job->split, "train or heldout problems")
      ->capture_default_str()->check(CLI::IsMember({"train", "heldout"}));
  cmd->callback([job] {
    ConsoleReporter reporter = console();
    run_task_data(*job, reporter);
  });
}

}  // namespace tandem::cli
