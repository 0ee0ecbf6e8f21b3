// RMSNorm forward and backward. One block per row for the row-wise parts; the weight gradient,
// a sum over rows, goes through per-chunk partial sums and a fixed-order final pass instead of
// atomics, so it is bit-reproducible.
#include <string>

#include "tandem/backend/cuda/common.cuh"
#include "tandem/backend/cuda/cuda_backend.h"

namespace tandem::cuda {
namespace {

constexpr int kNormThreads = 256;

// out(n,C) = x * rstd * w; rstd(n) = 1 / sqrt(mean(x^2) + eps). Grid: one block per row.
__global__ void rmsnorm_forward_kernel(float* __restrict__ out, float* __restrict__ rstd,
                                       const float* __restrict__ x, const float* __restrict__ w,
                                       int C, float eps) {
  __shared__ float shared[kWarp];
  const int64_t row = blockIdx.x;
  const float* xr = x + row * C;
  float ss = 0.f;
  for (int c = threadIdx.x; c < C; c += blockDim.x) ss = fmaf(xr[c], xr[c], ss);
  ss = block_sum(ss, shared);
  const float r = 1.f / sqrtf(ss / float(C) + eps);
  float* outr = out + row * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) outr[c] = xr[c] * r * w[c];
  if (threadIdx.x == 0) rstd[row] = r;
}

// With g = dout * w: dx = r * (g - x * r^2 * mean(g * x)). Grid: one block per row.
// No __restrict__ on dx and dout: a caller may pass the same buffer to work in place, which is
// safe because each element is read by the thread that later writes it, before the block sync.
__global__ void rmsnorm_backward_dx_kernel(float* dx, const float* dout, const float* x,
                                           const float* w, const float* rstd, int C) {
  __shared__ float shared[kWarp];
  const int64_t row = blockIdx.x;
  const float* xr = x + row * C;
  const float* gr = dout + row * C;
  float dot = 0.f;
  for (int c = threadIdx.x; c < C; c += blockDim.x) dot = fmaf(gr[c] * w[c], xr[c], dot);
  dot = block_sum(dot, shared);
  const float r = rstd[row];
  const float k = dot * r * r / float(C);
  float* dxr = dx + row * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) dxr[c] = r * (gr[c] * w[c] - xr[c] * k);
}

// partial(chunks, C): partial[k][c] = sum over rows of chunk k, in row order, of dout*x*rstd.
// Grid: (column tiles, chunks); each thread owns one column, so reads are coalesced.
__global__ void rmsnorm_dw_partial_kernel(float* __restrict__ partial,
                                          const float* __restrict__ dout,
                                          const float* __restrict__ x,
                                          const float* __restrict__ rstd, int n, int C,
                                          int rows_per_chunk) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  const int64_t begin = int64_t(blockIdx.y) * rows_per_chunk;
  const int64_t end = min(begin + rows_per_chunk, int64_t(n));
  float acc = 0.f;
  for (int64_t r = begin; r < end; ++r) acc = fmaf(dout[r * C + c] * x[r * C + c], rstd[r], acc);
  partial[int64_t(blockIdx.y) * C + c] = acc;
}

// dw[c] += sum over chunks, in chunk order.
__global__ void rmsnorm_dw_final_kernel(float* __restrict__ dw, const float* __restrict__ partial,
                                        int chunks, int C) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  float acc = 0.f;
  for (int k = 0; k < chunks; ++k) acc += partial[int64_t(k) * C + c];
  dw[c] += acc;
}

}  // namespace

void CudaBackend::rmsnorm_forward(float* out, float* rstd, const float* x, const float* w, int n,
                                  int C, float eps) {
  check_nonneg("rmsnorm_forward", "n", n);
  check_nonneg("rmsnorm_forward", "C", C);
  if (n == 0) return;
  if (C == 0) fail_arg("rmsnorm_forward", "C must be > 0");
  rmsnorm_forward_kernel<<<n, kNormThreads, 0, stream_>>>(out, rstd, x, w, C, eps);
  TANDEM_CUDA_LAUNCH_CHECK("rmsnorm_forward");
}

void CudaBackend::rmsnorm_backward(float* dx, float* dw, const float* dout, const float* x,
                                   const float* w, const float* rstd, int n, int C) {
  check_nonneg("rmsnorm_backward", "n", n);
  check_nonneg("rmsnorm_backward", "C", C);
  if (n == 0 || C == 0) return;
  rmsnorm_backward_dx_kernel<<<n, kNormThreads, 0, stream_>>>(dx, dout, x, w, rstd, C);
  TANDEM_CUDA_LAUNCH_CHECK("rmsnorm_backward");

  // Chunks of at least 32 rows and at most 4096 chunks: enough blocks to fill the GPU, a short
  // final pass, and a grid.y far below its 65535 limit. The split depends on n only.
  const int rows_per_chunk = n / 4096 + 1 > 32 ? n / 4096 + 1 : 32;
  const int chunks = (n + rows_per_chunk - 1) / rows_per_chunk;
  float* partial = static_cast<float*>(scratch(sizeof(float) * size_t(chunks) * C));
  const int col_tiles = (C + kNormThreads - 1) / kNormThreads;
  rmsnorm_dw_partial_kernel<<<dim3(col_tiles, chunks), kNormThreads, 0, stream_>>>(
      partial, dout, x, rstd, n, C, rows_per_chunk);
  TANDEM_CUDA_LAUNCH_CHECK("rmsnorm_backward");
  rmsnorm_dw_final_kernel<<<col_tiles, kNormThreads, 0, stream_>>>(dw, partial, chunks, C);
  TANDEM_CUDA_LAUNCH_CHECK("rmsnorm_backward");
}

}  // namespace tandem::cuda
