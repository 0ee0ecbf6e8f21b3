// tandem train: supervised training on a task's worked solutions (recipes/sft.h).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "tandem/cli/flags.h"
#include "tandem/cli/sft_options.h"
#include "tandem/comm/world.h"

namespace tandem::cli {

namespace {
// The user's data (docs/data.md): `tandem train` only; the demo trains on its task.
void add_data_options(CLI::App* cmd, SftConfig& c) {
  cmd->add_option("--data", c.data,
                  "Train on these files instead of the task: .jsonl (chat {\"messages\"}, "
                  "{\"prompt\", \"completion\"} or {\"text\"} records) or .txt (repeatable)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--data-weights", c.data_weights, "Relative share of each --data file's rows")
      ->delimiter(',');
  cmd->add_option("--val-fraction", c.val_fraction,
                  "Share of each file's records held out for the validation loss")
      ->capture_default_str()->check(CLI::Range(0.0, 0.99));
  cmd->add_option("--val-records", c.val_records,
                  "Validation records scored at each evaluation (0: all)")
      ->capture_default_str()->check(kNonNegative);
  cmd->add_flag("!--no-shuffle", c.shuffle, "Take records in file order (validation records last)");
  cmd->add_flag("!--drop-thinking", c.keep_thinking,
                "Remove <think>...</think> blocks from assistant turns before training");
  cmd->add_flag("--skip-bad", c.skip_bad,
                "Count and skip malformed JSONL lines instead of stopping at the first");
  cmd->add_flag("--skip-long", c.skip_long,
                "Skip records longer than the context instead of truncating them");
  cmd->add_option("--tokenizer", c.tokenizer,
                  "tokenizer.json (or its folder) for a new model (default: the demo's byte vocabulary)");
}
}  // namespace

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "train", "Supervised training on a task's worked solutions (data parallel under mpirun)");
  auto cfg = std::make_shared<SftConfig>();
  cfg->out_dir = "runs/train";
  add_sft_options(cmd, *cfg);
  add_data_options(cmd, *cfg);
  cmd->callback([cfg, cmd] {
    // With --data the task is evaluated only when named.
    if (!cfg->data.empty() && cmd->count("--task") == 0) cfg->task.clear();
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
    if (!cfg->data.empty()) {
      if (!std::isnan(r.val_loss))
        out += fmt::format("validation loss {:.4f} (perplexity {:.3f})\n", r.val_loss,
                           std::exp(r.val_loss));
      if (r.truncated || r.skipped_long || r.bad_lines)
        out += fmt::format("data: {} record(s) cut to the context, {} skipped as too long, {} bad "
                           "line(s) skipped\n", r.truncated, r.skipped_long, r.bad_lines);
    }
    if (r.interrupted)
      out += fmt::format("continue with: tandem train --resume --out {} (and the same options)\n",
                         cfg->out_dir);
    reporter.result(out);
  });
}

}  // namespace tandem::cli
