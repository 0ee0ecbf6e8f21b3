#pragma once
// One optimizer step = forward/backward over one or more micro-batches (gradient accumulation),
// global-norm clipping, then AdamW at the scheduled learning rate. The loss is the mean negative
// log-likelihood over every target token of the step (targets < 0 carry no loss: prompt tokens,
// padding), so accumulating k micro-batches equals one batch k times larger.
#include <cstdint>
#include <span>
#include <vector>

#include "tandem/comm/communicator.h"
#include "tandem/data/batch.h"
#include "tandem/model/transformer.h"
#include "tandem/train/adamw.h"
#include "tandem/train/lr_schedule.h"

namespace tandem {

struct TrainConfig {
  LrSchedule lr;
  AdamWConfig adamw;
  float max_grad_norm = 1.0f;  // <= 0 disables clipping
  bool shard_optimizer = false;  // ZeRO-1 over the ranks (adamw.h); one rank: no effect
  // Several ranks, optimizer not sharded: the last micro-batch's backward hands each finished
  // bucket of gradients (a block's) to the communicator, which sums it while backward goes on.
  bool overlap = true;
};

struct StepStats {
  double loss = 0;       // mean NLL over target tokens
  double grad_norm = 0;  // before clipping
  float lr = 0;
  int64_t tokens = 0;         // all tokens processed (B*T summed), over all ranks
  int64_t target_tokens = 0;  // tokens that carried loss, over all ranks
  bool skipped = false;       // non-finite loss or gradient: no update was made
};

class Trainer {
 public:
  // comm: the run's ranks (their micro-batches together make the step's batch).
  Trainer(Transformer& model, TrainConfig config, Communicator& comm = single_process());

  StepStats step(std::span<const Batch> micro_batches);

  Transformer& model() { return model_; }
  AdamW& optimizer() { return opt_; }
  const TrainConfig& config() const { return cfg_; }
  int64_t steps_done() const { return steps_done_; }  // includes skipped steps
  void set_steps_done(int64_t s) { steps_done_ = s; }
  // Test hook (TANDEM_INJECT_NAN_STEP): the next step writes a NaN into its gradients after the
  // backward pass, so the non-finite guard must skip its update.
  void inject_nan_gradient() { inject_nan_ = true; }

 private:
  Transformer& model_;
  Communicator& comm_;
  TrainConfig cfg_;
  AdamW opt_;
  int64_t steps_done_ = 0;
  bool inject_nan_ = false;
  std::vector<float> nll_, dnll_;
  DeviceBuffer sum_;  // batch-invariant runs: the micro-batches' gradients summed in order
};

}  // namespace tandem
