#pragma once
// The flags shared by `tandem train` and `tandem demo`, bound straight onto SftConfig so the
// defaults shown by --help are the struct's. Any of them can come from a file: --config FILE
// (TOML/INI, a [demo] or [train] section of `name = value` lines; see main.cpp), and flags on
// the command line take precedence.
#include "tandem/backend/backend.h"
#include "tandem/cli/commands.h"
#include "tandem/recipes/sft.h"

namespace tandem::cli {

inline void add_sft_options(CLI::App* cmd, SftConfig& c) {
  cmd->add_option("--out", c.out_dir, "Run directory (metrics, checkpoints, model, report)")
      ->capture_default_str();
  cmd->add_option("--task", c.task, "Task to train on: arithmetic or countdown")
      ->capture_default_str();
  cmd->add_option("--backend", c.backend, "Device backend: " + backend_choices())
      ->capture_default_str();
  cmd->add_flag("--deterministic", c.deterministic,
                "Batch-invariant kernels (CPU): a row's results do not depend on the rows beside it");
  cmd->add_option("--preset", c.preset, "Model shape when starting from scratch: demo or 25m")
      ->capture_default_str();
  cmd->add_option("--init-from", c.init_from, "Model directory to fine-tune instead of a new model");
  cmd->add_option("--seed", c.seed, "Seed for initialisation, data and sampling")
      ->capture_default_str();
  cmd->add_option("--steps", c.steps, "Optimizer steps")->capture_default_str()->check(kPositive);
  cmd->add_option("--batch", c.batch, "Problems per step (over all ranks under mpirun)")
      ->capture_default_str()->check(kPositive);
  cmd->add_option("--micro-batch", c.micro_batch,
                  "Problems per forward/backward, a divisor of --batch (0: --batch / ranks)")
      ->capture_default_str()->check(kNonNegative);
  cmd->add_option("--zero", c.zero,
                  "1: shard the optimizer's moments over the ranks (ZeRO-1); 0: every rank keeps all")
      ->capture_default_str()->check(CLI::IsMember({0, 1}));
  cmd->add_flag("!--no-overlap", c.overlap,
                "Sum the gradients over ranks after backward, not bucket by bucket while it runs");
  cmd->add_option("--diloco-steps", c.diloco_steps,
                  "DiLoCo: inner steps each rank takes alone between synchronisations (0: off, "
                  "gradients are summed every step)")
      ->capture_default_str()->check(kNonNegative);
  cmd->add_option("--outer-lr", c.outer_lr, "DiLoCo: the outer Nesterov step's learning rate")
      ->capture_default_str();
  cmd->add_option("--outer-momentum", c.outer_momentum, "DiLoCo: the outer step's momentum")
      ->capture_default_str();
  // Row layout (data/sft_batches.h, data/packing.h).
  cmd->add_flag_callback(
      "--pack", [&c] { c.pack = 1; },
      "Stream packing: records end to end in full rows of --seq-len, one running on into the next "
      "row (default when every record is text; otherwise whole records share rows, no padding)");
  cmd->add_flag_callback(
      "--no-pack", [&c] { c.pack = 0; }, "One record per row, padded to the longest");
  cmd->add_option("--seq-len", c.seq_len,
                  "Row length when packing (default: the model's context for stream packing, "
                  "the larger of it and 1024 for whole records)")
      ->check(kNonNegative);
  cmd->add_option("--lr", c.lr, "Peak learning rate")->capture_default_str()->check(kPositive);
  cmd->add_option("--min-lr", c.min_lr, "Final learning rate of the cosine")->capture_default_str();
  cmd->add_option("--warmup", c.warmup, "Linear warmup steps")->capture_default_str()->check(kNonNegative);
  cmd->add_option("--weight-decay", c.weight_decay, "AdamW decoupled weight decay")->capture_default_str();
  cmd->add_option("--max-grad-norm", c.max_grad_norm, "Global-norm clip (0: off)")->capture_default_str();
  cmd->add_option("--levels", c.levels, "Task levels in the training mix")->capture_default_str()->delimiter(',');
  cmd->add_option("--level-weights", c.level_weights, "Relative share of each level")
      ->capture_default_str()->delimiter(',');
  cmd->add_option("--eval-every", c.eval_every, "Steps between held-out evaluations (0: none)")
      ->capture_default_str();
  cmd->add_option("--eval-problems", c.eval_problems, "Held-out problems per level in those evaluations")
      ->capture_default_str();
  cmd->add_option("--checkpoint-every", c.checkpoint_every, "Steps between checkpoints (0: none)")
      ->capture_default_str();
  cmd->add_option("--log-every", c.log_every, "Steps between train records in metrics.jsonl")
      ->capture_default_str()->check(kPositive);
  // Fault tolerance (docs/fault-tolerance.md).
  cmd->add_flag("--resume", c.resume,
                "Continue from the newest valid checkpoint in OUT/checkpoints (none: start fresh)");
  cmd->add_option("--keep-last", c.keep_last, "Checkpoints kept in OUT/checkpoints (0: all)")
      ->capture_default_str()->check(kNonNegative);
  cmd->add_option("--spike-window", c.spike.window, "Loss-spike rule: steps in the running window")
      ->capture_default_str()->check(kPositive);
  cmd->add_option("--spike-min-steps", c.spike.min_count,
                  "Loss-spike rule: losses in the window before it judges")
      ->capture_default_str()->check(kPositive);
  cmd->add_option("--spike-z", c.spike.z,
                  "Loss-spike rule: z-score of the log-loss that rolls back to the last "
                  "checkpoint (0: off)")
      ->capture_default_str()->check(kNonNegative);
  cmd->add_option("--max-failures", c.max_failures,
                  "Consecutive failed steps or checkpoint writes before the run gives up")
      ->capture_default_str()->check(kPositive);
}

}  // namespace tandem::cli
