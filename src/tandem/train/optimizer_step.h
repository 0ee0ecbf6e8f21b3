#pragma once
// The one place the weights change, for every recipe (supervised training and GRPO alike):
//   gradients summed over ranks -> global-norm clip -> finite check -> AdamW.
// With a sharded optimizer (ZeRO-1) the sum is a reduce-scatter (each rank gets its shard's),
// the norm is gathered block by block, and the updated shards are all-gathered.
// A non-finite loss or gradient would poison the weights and both moments for good, so such a
// step is skipped (and reported), never applied.
#include "tandem/comm/communicator.h"
#include "tandem/model/transformer.h"
#include "tandem/train/adamw.h"

namespace tandem {

struct UpdateOutcome {
  double grad_norm = 0;  // global, before clipping
  bool applied = false;  // false: loss or gradient not finite, nothing changed
};

// `loss` is the step's loss as summed over ranks by the caller (only its finiteness matters).
// `summing`: the caller has started the gradients' sum in pieces (Communicator::start_sum, while
// backward ran); it is finished here instead of summing the whole slab.
UpdateOutcome optimizer_step(Transformer& model, AdamW& optimizer, Communicator& comm, float lr,
                             float max_grad_norm, double loss, bool summing = false);

}  // namespace tandem
