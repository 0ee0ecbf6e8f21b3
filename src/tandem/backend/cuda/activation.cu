// SwiGLU: out = silu(gate) * up, with silu(g) = g * sigmoid(g). Elementwise, one pass each way.
#include "tandem/backend/cuda/common.cuh"
#include "tandem/backend/cuda/cuda_backend.h"

namespace tandem::cuda {
namespace {

// 1 / (1 + e^-g): for very negative g, e^-g overflows to inf and the result is a clean 0.
__device__ __forceinline__ float sigmoid(float g) {
  return 1.f / (1.f + expf(-g));
}

// No __restrict__: out may alias gate or up (each element is read before it is written).
__global__ void swiglu_forward_kernel(float* out, const float* gate, const float* up, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x) {
    const float g = gate[i];
    out[i] = g * sigmoid(g) * up[i];
  }
}

// d silu(g)/dg = s * (1 + g * (1 - s)) with s = sigmoid(g).
// No __restrict__: dgate/dup may alias dout or the inputs (each element is read before written).
__global__ void swiglu_backward_kernel(float* dgate, float* dup, const float* dout,
                                       const float* gate, const float* up, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x) {
    const float g = gate[i], u = up[i], d = dout[i];
    const float s = sigmoid(g);
    const float silu = g * s;
    dgate[i] = d * u * (s * (1.f + g * (1.f - s)));
    dup[i] = d * silu;
  }
}

}  // namespace

void CudaBackend::swiglu_forward(float* out, const float* gate, const float* up, size_t n) {
  if (n == 0) return;
  swiglu_forward_kernel<<<elementwise_blocks(n, 256), 256, 0, stream_>>>(out, gate, up, n);
  TANDEM_CUDA_LAUNCH_CHECK("swiglu_forward");
}

void CudaBackend::swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate,
                                  const float* up, size_t n) {
  if (n == 0) return;
  swiglu_backward_kernel<<<elementwise_blocks(n, 256), 256, 0, stream_>>>(dgate, dup, dout, gate,
                                                                          up, n);
  TANDEM_CUDA_LAUNCH_CHECK("swiglu_backward");
}

}  // namespace tandem::cuda
