// tandem demo: the main job (recipes/demo.h). This file only turns flags into a DemoConfig.
#include "tandem/cli/flags.h"
#include "tandem/cli/sft_options.h"
#include "tandem/comm/world.h"
#include "tandem/recipes/demo.h"

namespace tandem::cli {

void add_demo_command(CLI::App& app) {
  auto c = std::make_shared<DemoConfig>();  // GRPO phase: tandem grpo's defaults (docs/grpo.md)
  auto* cmd = app.add_subcommand(
      "demo",
      "The main job: train the default model from scratch on arithmetic, evaluate, improve it with "
      "GRPO, evaluate again, report (data parallel under mpirun)");
  add_sft_options(cmd, c->sft);
  cmd->add_option("--final-problems", c->final_problems, "Held-out problems per level at the end")
      ->capture_default_str()->check(kPositive);
  cmd->add_option("--grpo-steps", c->grpo.steps, "GRPO steps after supervised training (0: none)")
      ->capture_default_str()->check(kNonNegative);
  cmd->add_option("--grpo-levels", c->grpo.levels, "Levels GRPO draws its prompts from")
      ->capture_default_str()->delimiter(',');
  cmd->add_option("--grpo-prompts", c->grpo.prompts, "GRPO prompts per step")
      ->capture_default_str()->check(kPositive);
  cmd->add_option("--grpo-lr", c->grpo.lr, "GRPO learning rate")->capture_default_str()
      ->check(kPositive);
  cmd->callback([c] {
    // Under mpirun (docs/distributed.md) every rank works; rank 0 alone shows and writes.
    Communicator& comm = world();
    ConsoleReporter shown = console();
    QuietReporter unseen;
    run_demo(*c, comm.leader() ? static_cast<Reporter&>(shown) : unseen, comm);
  });
}

}  // namespace tandem::cli
