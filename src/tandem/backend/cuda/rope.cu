// Rotary position embedding, NEOX layout: element j pairs with j + D/2 in each head. Forward
// rotates by +angle, backward by -angle (the transpose of a rotation is its inverse).
#include <string>

#include "tandem/backend/cuda/common.cuh"
#include "tandem/backend/cuda/cuda_backend.h"

namespace tandem::cuda {
namespace {

// x(n,H,D) in place; cos_sin(max_pos, D/2, 2). One thread per (row, head, pair).
// direction = +1 forward, -1 backward.
__global__ void rope_kernel(float* __restrict__ x, const int32_t* __restrict__ pos,
                            const float* __restrict__ cos_sin, int64_t n, int H, int D,
                            float direction) {
  const int half = D / 2;
  const int64_t total = n * H * half;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int j = int(e % half);
    const int64_t head_row = e / half;  // row * H + head
    const int64_t row = head_row / H;
    const float* cs = cos_sin + (int64_t(pos[row]) * half + j) * 2;
    const float c = cs[0], s = direction * cs[1];
    float* h = x + head_row * D;
    const float a = h[j], b = h[j + half];
    h[j] = a * c - b * s;
    h[j + half] = b * c + a * s;
  }
}

void launch_rope(const char* op, cudaStream_t stream, float* x, const int32_t* pos,
                 const float* cos_sin, int n, int H, int D, float direction) {
  check_nonneg(op, "n", n);
  check_nonneg(op, "H", H);
  check_nonneg(op, "D", D);
  if (D % 2 != 0) fail_arg(op, "head dim D must be even, got " + std::to_string(D));
  const size_t total = size_t(n) * H * (D / 2);
  if (total == 0) return;
  rope_kernel<<<elementwise_blocks(total, 256), 256, 0, stream>>>(x, pos, cos_sin, n, H, D,
                                                                  direction);
  TANDEM_CUDA_LAUNCH_CHECK(op);
}

}  // namespace

void CudaBackend::rope_forward(float* x, const int32_t* pos, const float* cos_sin, int n, int H,
                               int D) {
  launch_rope("rope_forward", stream_, x, pos, cos_sin, n, H, D, 1.f);
}

void CudaBackend::rope_backward(float* dx, const int32_t* pos, const float* cos_sin, int n, int H,
                                int D) {
  launch_rope("rope_backward", stream_, dx, pos, cos_sin, n, H, D, -1.f);
}

}  // namespace tandem::cuda
