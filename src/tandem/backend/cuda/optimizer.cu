// AdamW, elementwise, in the formulation PyTorch's torch.optim.AdamW uses (decay applied to p
// first, bias corrections folded into the step size and denominator), so parity runs against
// PyTorch compare like with like. Bias corrections are computed once on the host, in double.
#include <cmath>

#include "tandem/backend/cuda/common.cuh"
#include "tandem/backend/cuda/cuda_backend.h"

namespace tandem::cuda {
namespace {

__global__ void adamw_kernel(float* __restrict__ p, const float* __restrict__ g,
                             float* __restrict__ m, float* __restrict__ v, size_t n, float lr,
                             float beta1, float beta2, float eps, float decay_factor,
                             float grad_scale, float step_size, float inv_sqrt_bc2) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x) {
    const float grad = g[i] * grad_scale;
    const float mi = beta1 * m[i] + (1.f - beta1) * grad;
    const float vi = beta2 * v[i] + (1.f - beta2) * grad * grad;
    m[i] = mi;
    v[i] = vi;
    const float denom = sqrtf(vi) * inv_sqrt_bc2 + eps;
    p[i] = p[i] * decay_factor - step_size * mi / denom;
  }
}

}  // namespace

void CudaBackend::adamw_step(float* p, const float* g, float* m, float* v, size_t n, float lr,
                             float beta1, float beta2, float eps, float weight_decay,
                             float grad_scale, int64_t step) {
  if (step < 1) fail_arg("adamw_step", "step counts from 1, got " + std::to_string(step));
  if (n == 0) return;
  const double bc1 = 1.0 - std::pow(double(beta1), double(step));
  const double bc2 = 1.0 - std::pow(double(beta2), double(step));
  const float step_size = float(double(lr) / bc1);
  const float inv_sqrt_bc2 = float(1.0 / std::sqrt(bc2));
  const float decay_factor = float(1.0 - double(lr) * double(weight_decay));
  adamw_kernel<<<elementwise_blocks(n, 256), 256, 0, stream_>>>(
      p, g, m, v, n, lr, beta1, beta2, eps, decay_factor, grad_scale, step_size, inv_sqrt_bc2);
  TANDEM_CUDA_LAUNCH_CHECK("adamw_step");
}

}  // namespace tandem::cuda
