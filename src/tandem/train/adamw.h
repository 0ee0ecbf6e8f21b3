#pragma once
// AdamW over the whole parameter slab: decoupled weight decay (matrices only, see ParamSpec::decay)
// and bias correction, as torch.optim.AdamW defines them. fp32 master weights and moments.
#include <cstdint>

#include "tandem/backend/backend.h"
#include "tandem/model/param_layout.h"

namespace tandem {

struct AdamWConfig {
  float beta1 = 0.9f;
  float beta2 = 0.95f;        // 0.95 rather than 0.999: steadier for short LM runs
  float eps = 1e-8f;
  float weight_decay = 0.1f;  // applied to matrices only
};

class AdamW {
 public:
  AdamW(Backend& backend, const ParamLayout& layout, AdamWConfig config);

  // One update of params with grads * grad_scale at learning rate lr; advances step().
  void update(float* params, const float* grads, float lr, float grad_scale);

  int64_t step() const { return step_; }
  void set_step(int64_t step) { step_ = step; }
  void reset();  // zero moments and step: the state before the first update
  float* m() const { return m_.as(); }  // device, layout.total floats
  float* v() const { return v_.as(); }
  const AdamWConfig& config() const { return cfg_; }

 private:
  Backend& be_;
  const ParamLayout& layout_;
  AdamWConfig cfg_;
  DeviceBuffer m_, v_;
  int64_t step_ = 0;
};

// Global L2 norm of the gradient slab and the factor that clips it to max_norm (1 when within,
// or when max_norm <= 0), as torch.nn.utils.clip_grad_norm_ computes it.
struct GradNorm {
  double norm;
  float scale;
};
GradNorm clip_grad_norm(Backend& backend, const float* grads, int64_t n, float max_norm);

}  // namespace tandem
