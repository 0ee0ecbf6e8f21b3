#pragma once
// GRPO's update phase: the scored rollouts laid out as training rows (prompt + completion, loss
// only on completion tokens), then `epochs` passes of forward -> GRPO loss -> backward -> AdamW,
// each against the sampling policy's log-probabilities. Micro-batches share one denominator, so
// splitting the rows changes nothing but memory.
#include <cstdint>
#include <vector>

#include "tandem/rl/grpo_loss.h"
#include "tandem/rl/rollout_correction.h"
#include "tandem/rl/rollout.h"
#include "tandem/comm/communicator.h"
#include "tandem/model/transformer.h"
#include "tandem/train/adamw.h"

namespace tandem {

struct PolicyUpdateConfig {
  GrpoConfig objective;
  int epochs = 1;
  int micro_batch = 32;  // completions per forward/backward
  float lr = 0;
  float max_grad_norm = 1.0f;
  int32_t pad = 0;       // token filling rows shorter than the longest
  // The ratio's denominator: false, the rollouts' own log-probabilities (in-process sampling,
  // the same model); true, the trainer's recomputation before the first update (rollouts from
  // another engine: the sampler's numbers only measure and correct the gap).
  bool recompute_old = false;
  CorrectionConfig correction;  // rl/rollout_correction.h; any mode but none recomputes
};

struct PolicyUpdateStats {
  double loss = 0;      // of the last epoch
  double entropy = 0;   // mean over counted tokens, last epoch
  double kl = 0, clip_fraction = 0, ratio = 0;
  double grad_norm = 0;
  int64_t tokens = 0;   // row cells processed, all epochs
  int skipped = 0;      // epochs whose loss or gradient was not finite (no update made)
  MismatchStats mismatch;        // the rollouts' log-probabilities against the trainer's
  CorrectionStats correction;    // what the correction weighed and masked (none: all 1)
};

// Updates `policy` on rollouts[rows] with their advantages (indexed like rollouts). `reference`
// (may be null) gives the KL term's log-probabilities. With several ranks, each passes its own
// rollouts; the aggregation's denominator and the gradients are summed over all of them.
PolicyUpdateStats policy_update(Transformer& policy, AdamW& optimizer, Transformer* reference,
                                const std::vector<Rollout>& rollouts, const std::vector<int>& rows,
                                const std::vector<double>& advantages,
                                const PolicyUpdateConfig& cfg,
                                Communicator& comm = single_process());

}  // namespace tandem
