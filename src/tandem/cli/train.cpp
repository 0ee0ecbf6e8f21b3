// tandem train: supervised training on a task's worked solutions.
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "tandem/cli/sft_options.h"

namespace tandem::cli {

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Supervised training on a task's worked solutions");
  auto cfg = std::make_shared<SftConfig>();
  cfg->out_dir = "runs/train";
  add_sft_options(cmd, *cfg);
  cmd->callback([cfg] {
    MetricsLog metrics(([&] {
      std::filesystem::create_directories(cfg->out_dir);
      return cfg->out_dir + "/metrics.jsonl";
    })());
    const SftResult r = run_sft(*cfg, metrics);
    std::printf("%s after %lld steps (%.0f s, %.0f tokens/s): model in %s\n",
                r.interrupted ? "stopped" : "trained", (long long)r.steps_done, r.seconds,
                r.tokens_per_s, r.model_dir.c_str());
    std::printf("checkpoints: %d written in %.2f s (%.1f%% of the run)", r.checkpoints,
                r.checkpoint_seconds, 100 * r.checkpoint_seconds / std::max(r.seconds, 1e-9));
    if (r.skipped_steps || r.rollbacks)
      std::printf("; %d non-finite step(s) skipped, %d loss spike(s) rolled back", r.skipped_steps,
                  r.rollbacks);
    std::printf("\n");
    if (r.interrupted)
      std::printf("continue with: tandem train --resume --out %s (and the same options)\n",
                  cfg->out_dir.c_str());
  });
}

}  // namespace tandem::cli
