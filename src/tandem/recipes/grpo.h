#pragma once
// Reasoning RL with verifiable rewards (GRPO): from a model directory, repeat
//   draw prompts -> sample G completions each (keeping token log-probabilities)
//   -> score with the task's verifier -> group-normalised advantages
//   -> `epochs` policy updates with the clipped importance ratio against the sampling policy.
// Writes metrics.jsonl, checkpoints and a final model directory like the supervised recipe.
// Resumable: a checkpoint holds the policy, AdamW's moments, the frozen reference (when beta > 0)
// and the step; prompts and sampling streams are pure functions of (seed, step), so a resumed run
// ends bit for bit where an uninterrupted one does (same thread count).
#include <cstdint>
#include <string>
#include <vector>

#include "tandem/comm/communicator.h"
#include "tandem/core/reporter.h"
#include "tandem/data/tasks/problem_file.h"
#include "tandem/report/metrics_log.h"
#include "tandem/rl/advantages.h"
#include "tandem/rl/grpo_loss.h"
#include "tandem/rl/rollout_correction.h"

namespace tandem {

struct GrpoRunConfig {
  std::string init_from;            // model directory (required)
  std::string out_dir = "runs/grpo";
  std::string task = "arithmetic";
  std::string backend = "cpu";
  uint64_t seed = 1;                // prompts and samples
  uint64_t eval_seed = 1;           // which held-out problems: the same set whatever --seed
  std::vector<int> levels = {3};    // levels prompts are drawn from (3: the demo model's 20-80% level;
                                    // empty: every level of the task)
  // The user's problems instead of the task's (docs/data.md): a JSONL file of {"prompt",
  // "answer", "level"} records, judged by `verifier`; `heldout_fraction` of them (by prompt hash)
  // are kept for the evaluations.
  std::string data;
  tasks::VerifierSpec verifier;
  double heldout_fraction = 0.1;
  int64_t steps = 60;               // rollout batches (docs/grpo.md: level 3 +20, longer forgets)
  int prompts = 64;                 // prompts per step
  int group_size = 8;               // G completions per prompt
  float temperature = 1.0f;         // sampling temperature of the rollouts
  int max_new_tokens = 200;
  int epochs = 1;                   // policy updates per rollout batch (old log-probs kept)
  int micro_batch = 32;             // completions per forward/backward
  float lr = 1e-4f;                 // peak, after warmup
  float min_lr = -1.0f;             // cosine decay to this at the last step; < 0: constant lr
  int64_t warmup = 5;
  float weight_decay = 0.0f;
  float max_grad_norm = 1.0f;
  GrpoConfig objective;
  AdvantageScaling scaling = AdvantageScaling::GroupStd;
  bool dynamic_sampling = true;     // drop groups whose rewards are all equal (no signal)
  int eval_every = 20;              // steps between held-out evaluations (0: only first and last)
  int eval_problems = 200;          // per level, evaluations during the run
  int final_eval_problems = 1000;   // per level, the first and the last evaluation (before/after)
  bool initial_eval = true;         // off when the caller has just evaluated the same model
  int checkpoint_every = 20;        // steps between checkpoints in out_dir/checkpoints (0: none)
  int keep_last = 3;                // checkpoints kept
  bool resume = false;              // continue from the newest valid checkpoint in out_dir
  // Split RL (docs/rl-across-engines.md): rollouts from `tandem serve` processes, which get the
  // policy's weights before every step; the trainer recomputes the log-probabilities. Empty:
  // rollouts in-process.
  std::vector<std::string> rollout_servers;
  std::string admin_key;            // the servers' --admin-key
  int requests_per_server = 8;      // concurrent requests kept at each server
  bool keep_stale = false;          // keep (count, correct) rollouts made with other weights
                                    // instead of asking again
  CorrectionConfig correction;      // the sampler/trainer gap: none, tis, mis, mask
  bool deterministic = false;       // batch-invariant kernels: rollouts equal the trainer's bits
};

struct GrpoRunResult {
  int64_t steps_done = 0;
  bool interrupted = false;
  std::string model_dir;
  double seconds = 0;
};

// Settings problems throw ConfigError naming the GrpoRunConfig field. Under several ranks
// (docs/distributed.md) each samples and scores its share of the step's prompts (whole groups),
// the advantages come from every rank's rewards, the update is data parallel, evaluations split
// their problems, and rank 0 alone writes checkpoints and the model.
GrpoRunResult run_grpo(const GrpoRunConfig& cfg, MetricsLog& metrics, Reporter& reporter,
                       Communicator& comm = single_process());

}  // namespace tandem
