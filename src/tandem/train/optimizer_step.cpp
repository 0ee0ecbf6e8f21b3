#include "tandem/train/optimizer_step.h"

#include <cmath>

namespace tandem {

UpdateOutcome optimizer_step(Transformer& model, AdamW& optimizer, Communicator& comm, float lr,
                             float max_grad_norm, double loss) {
  comm.all_reduce_sum(model.backend(), model.grads(), size_t(model.layout().total));
  const GradNorm clip =
      clip_grad_norm(model.backend(), model.grads(), model.layout().total, max_grad_norm);
  UpdateOutcome out{clip.norm, false};
  if (!std::isfinite(loss) || !std::isfinite(clip.norm)) return out;
  optimizer.update(model.params(), model.grads(), lr, clip.scale);
  out.applied = true;
  return out;
}

}  // namespace tandem
