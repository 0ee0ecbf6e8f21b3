// tandem train: supervised training on a task's worked solutions (recipes/sft.h).
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "tandem/cli/flags.h"
#include "tandem/cli/sft_options.h"
#include "tandem/comm/world.h"

namespace tandem::cli {

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "train", "Supervised training on a task's worked solutions (data parallel under mpirun)");
  auto cfg = std::make_shared<SftConfig>();
  cfg->out_dir = "runs/train";
  add_sft_options(cmd, *cfg);
  cmd->callback([cfg] {
    // Under mpirun (docs/distributed.md) every rank trains; rank 0 alone shows and writes.
    Communicator& comm = world();
    ConsoleReporter shown = console();
    QuietReporter unseen;
    Reporter& reporter = comm.leader() ? static_cast<Reporter&>(shown) : unseen;
    std::filesystem::create_directories(cfg->out_dir);
    MetricsLog metrics(comm.leader() ? cfg->out_dir + "/metrics.jsonl" : "");
    const SftResult r = run_sft(*cfg, metrics, reporter, comm);
    std::string out = fmt::format("{} after {} steps ({:.0f} s, {:.0f} tokens/s): model in {}\n",
                                  r.interrupted ? "stopped" : "trained", r.steps_done, r.seconds,
                                  r.tokens_per_s, r.model_dir);
    out += fmt::format("checkpoints: {} written in {:.2f} s ({:.1f}% of the run)", r.checkpoints,
                       r.checkpoint_seconds,
                       100 * r.checkpoint_seconds / std::max(r.seconds, 1e-9));
    if (r.skipped_steps || r.rollbacks)
      out += fmt::format("; {} non-finite step(s) skipped, {} loss spike(s) rolled back",
                         r.skipped_steps, r.rollbacks);
    out += "\n";
    if (r.interrupted)
      out += fmt::format("continue with: tandem train --resume --out {} (and the same options)\n",
                         cfg->out_dir);
    reporter.result(out);
  });
}

}  // namespace tandem::cli
