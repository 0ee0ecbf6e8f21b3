#include "tandem/train/optimizer_step.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "tandem/core/error.h"

namespace tandem {

namespace {

// Sharded: this rank's blocks' sums of squares, every rank's gathered (a block's sum plus the
// zeros of the ranks that do not own it is that sum, exactly), then added in block order. The CPU
// backend sums whole slabs in the same blocks and order (cpu/reduce.cpp), so the norm's bits are
// those of an unsharded run.
double sharded_sum_squares(Backend& be, const float* grads, const Shards& shards, int rank,
                           Communicator& comm) {
  const size_t n = shards.total(), blocks = (n + kNormBlock - 1) / kNormBlock;
  std::vector<double> partial(blocks, 0.0);
  for (size_t b = shards.of(rank) / kNormBlock; b * kNormBlock < shards.of(rank + 1); ++b)
    partial[b] = be.sum_squares(grads + b * kNormBlock, std::min(kNormBlock, n - b * kNormBlock));
  comm.all_reduce_sum(std::span<double>(partial));
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

}  // namespace

UpdateOutcome optimizer_step(Transformer& model, AdamW& optimizer, Communicator& comm, float lr,
                             float max_grad_norm, double loss, bool summing) {
  Backend& be = model.backend();
  const size_t n = size_t(model.layout().total);
  GradNorm clip{};
  TANDEM_CHECK(!(summing && optimizer.sharded()), "[optimizer_step] a sharded step sums its own gradients");
  if (optimizer.sharded()) {
    const Shards& shards = optimizer.shards();
    comm.reduce_scatter_sum(be, model.grads(), shards);
    clip = clip_of(sharded_sum_squares(be, model.grads(), shards, comm.rank(), comm), max_grad_norm);
  } else {
    if (summing) comm.finish_sums();
    else comm.all_reduce_sum(be, model.grads(), n);
    clip = clip_grad_norm(be, model.grads(), int64_t(n), max_grad_norm);
  }
  UpdateOutcome out{clip.norm, false};
  if (!std::isfinite(loss) || !std::isfinite(clip.norm)) return out;
  optimizer.update(model.params(), model.grads(), lr, clip.scale);
  if (optimizer.sharded()) comm.all_gather(be, model.params(), optimizer.shards());
  out.applied = true;
  return out;
}

}  // namespace tandem
