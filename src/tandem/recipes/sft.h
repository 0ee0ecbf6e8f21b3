#pragma once
// Supervised training on a task's worked solutions: the training half of `tandem train` and of
// `tandem demo`. Writes metrics.jsonl, periodic checkpoints and a final model directory (a full
// checkpoint, tokenizer included) under out_dir; stops cleanly on SIGINT/SIGTERM. Survives faults
// (docs/fault-tolerance.md): verified atomic checkpoints, exact resume, a non-finite-step and
// loss-spike guard with rollback, a limit on consecutive failures.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "tandem/comm/communicator.h"
#include "tandem/core/reporter.h"
#include "tandem/model/config.h"
#include "tandem/report/metrics_log.h"
#include "tandem/train/spike_guard.h"

namespace tandem {

struct SftConfig {
  std::string out_dir = "runs/demo";
  std::string task = "arithmetic";  // trained on, and evaluated; with `data`, evaluated only ("": none)
  // The user's data instead of the task's problems (data/dataset.h, docs/data.md).
  std::vector<std::string> data;    // .jsonl / .txt files
  std::vector<double> data_weights; // relative share of each file's rows (empty: equal)
  double val_fraction = 0.05;       // of each file's records, held out for the validation loss
  int val_records = 256;            // validation records scored at each evaluation (0: all)
  bool shuffle = true;              // false: records in file order
  bool keep_thinking = true;        // false: <think> blocks dropped from assistant turns
  bool skip_bad = false;            // malformed JSONL lines: false stops, true counts and skips
  bool skip_long = false;           // records longer than the context: false truncates them
  // Row layout, attention always kept to each record. -1: stream packing (data/packing.h: full
  // rows of `seq_len`, a record running on into the next row) when every record is text
  // (pretraining), else whole records sharing rows of about `seq_len` without padding
  // (data/sft_batches.h: the task's problems, chat). 0: one record per row, padded. 1: stream.
  int pack = -1;
  int seq_len = 0;  // row length; 0: the context (stream), the larger of it and 1024 (whole)
  std::string tokenizer;            // tokenizer.json for a new model (default: the demo's bytes)
  std::string backend = "cpu";
  bool deterministic = false;  // batch-invariant kernels (Backend::set_batch_invariant)
  std::string preset = "demo";      // model shape when starting from scratch
  std::string init_from;            // a model directory to fine-tune instead
  uint64_t seed = 1;
  int64_t steps = 1300;
  int batch = 32;                   // problems per step, over all ranks
  int micro_batch = 0;              // problems per forward/backward; 0: batch / ranks
  int zero = 0;                     // 1: optimizer moments sharded over the ranks (ZeRO-1)
  bool overlap = true;              // sum gradient buckets over ranks while backward runs
  int diloco_steps = 0;             // DiLoCo: inner steps between synchronisations (0: off)
  float outer_lr = 0.7f;            // DiLoCo's outer Nesterov step (train/diloco.h)
  float outer_momentum = 0.9f;
  float lr = 3e-3f;                 // peak; warmup then cosine to min_lr
  float min_lr = 3e-4f;
  int64_t warmup = 100;
  float weight_decay = 0.1f;
  float max_grad_norm = 1.0f;
  std::vector<int> levels = {1, 2, 3, 4};             // training mix
  std::vector<double> level_weights = {1, 1, 1, 1};   // relative share of each level
  int eval_every = 250;             // steps between held-out evaluations (0: none): a curve
  int eval_problems = 100;          // per level, during training
  int checkpoint_every = 500;       // steps between checkpoints (0: none)
  int log_every = 10;
  bool resume = false;              // continue from the newest valid checkpoint in out_dir
  int keep_last = 3;                // checkpoints kept in out_dir/checkpoints (0: all)
  SpikeRule spike;                  // loss-spike rule (train/spike_guard.h); z <= 0: off
  int max_failures = 5;             // consecutive failed steps (or checkpoint writes) to give up
};

struct SftResult {
  int64_t steps_done = 0;
  bool interrupted = false;
  std::string model_dir;   // out_dir/model: the final (or interrupted) weights
  double seconds = 0;
  double tokens_per_s = 0;
  int64_t resumed_from = -1;     // the checkpoint's step, or -1 for a fresh start
  int checkpoints = 0;           // checkpoints written by this process (the final one included)
  double checkpoint_seconds = 0; // time spent writing them
  int skipped_steps = 0;         // non-finite loss or gradient
  int rollbacks = 0;             // loss spikes rolled back
  double val_loss = NAN;         // the last validation loss (`data` with `val_fraction` > 0)
  int64_t truncated = 0, skipped_long = 0;  // records cut to the context, or skipped
  int64_t target_tokens = 0;  // tokens that carried loss, this process's steps (padding excluded)
  int64_t bad_lines = 0;         // malformed lines skipped (`skip_bad`)
};

// Settings problems throw ConfigError naming the SftConfig field. With several ranks (comm),
// each trains on its share of every step's micro-batches; rank 0 alone writes metrics,
// evaluations and checkpoints (give the others a discarding MetricsLog and a quiet Reporter).
SftResult run_sft(const SftConfig& cfg, MetricsLog& metrics, Reporter& reporter,
                  Communicator& comm = single_process());

}  // namespace tandem
