// AdamW, in the form torch.optim.AdamW computes it.
#include <cmath>

#include "tandem/backend/cpu/cpu_backend.h"
#include "tandem/core/error.h"

namespace tandem {

// p, g, m, v: (n). m and v are updated in place, p too.
void CpuBackend::adamw_step(float* p, const float* g, float* m, float* v, size_t n, float lr,
                            float beta1, float beta2, float eps, float weight_decay,
                            float grad_scale, int64_t step) {
  TANDEM_CHECK(step >= 1, "[adamw_step] step counts from 1, got {}", step);
  // Bias corrections in double: beta2^step approaches 1 slowly and float would round it early.
  const double bc1 = 1.0 - std::pow(double(beta1), double(step));
  const double bc2 = 1.0 - std::pow(double(beta2), double(step));
  const float step_size = float(double(lr) / bc1);
  const float inv_sqrt_bc2 = float(1.0 / std::sqrt(bc2));
  const float decay = 1.0f - lr * weight_decay;
  const float b1c = 1.0f - beta1, b2c = 1.0f - beta2;
#pragma omp parallel for schedule(static) if (n >= (size_t(1) << 14))
  for (size_t i = 0; i < n; ++i) {
    const float gi = g[i] * grad_scale;
    const float mi = beta1 * m[i] + b1c * gi;
    const float vi = beta2 * v[i] + b2c * gi * gi;
    m[i] = mi;
    v[i] = vi;
    const float denom = std::sqrt(vi) * inv_sqrt_bc2 + eps;
    p[i] = p[i] * decay - step_size * mi / denom;
  }
}

}  // namespace tandem
