#include "tandem/train/adamw.h"

#include <algorithm>
#include <cmath>

namespace tandem {

AdamW::AdamW(Backend& backend, const ParamLayout& layout, AdamWConfig config)
    : be_(backend), layout_(layout), cfg_(config),
      m_(backend, layout.total * sizeof(float)), v_(backend, layout.total * sizeof(float)) {}

void AdamW::update(float* params, const float* grads, float lr, float grad_scale) {
  ++step_;
  for (const ParamSpec& t : layout_.tensors)
    be_.adamw_step(params + t.offset, grads + t.offset, m() + t.offset, v() + t.offset, t.numel, lr,
                   cfg_.beta1, cfg_.beta2, cfg_.eps, t.decay ? cfg_.weight_decay : 0.0f,
                   grad_scale, step_);
}

void AdamW::reset() {
  be_.fill(m(), 0.0f, size_t(layout_.total));
  be_.fill(v(), 0.0f, size_t(layout_.total));
  step_ = 0;
}

GradNorm clip_grad_norm(Backend& backend, const float* grads, int64_t n, float max_norm) {
  const double norm = std::sqrt(backend.sum_squares(grads, n));
  float scale = 1.0f;
  if (max_norm > 0 && std::isfinite(norm))
    scale = float(std::min(1.0, double(max_norm) / (norm + 1e-6)));
  return {norm, scale};
}

}  // namespace tandem
