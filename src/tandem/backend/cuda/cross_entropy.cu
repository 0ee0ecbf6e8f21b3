// Softmax cross-entropy per row of logits(n,V), with the entropy of the softmax, and its
// backward. One block per row; max and sums are block reductions in a fixed order.
#include "tandem/backend/cuda/common.cuh"
#include "tandem/backend/cuda/cuda_backend.h"

namespace tandem::cuda {
namespace {

constexpr int kCeThreads = 512;

// Row max m, S = sum e^(x-m), and for the entropy U = sum e^(x-m) (x-m). Then
// log Z = m + log S, -log p_t = log Z - x_t, and H = -sum p log p = log S - U / S.
__global__ void cross_entropy_forward_kernel(float* __restrict__ loss, float* __restrict__ entropy,
                                             const float* __restrict__ logits,
                                             const int32_t* __restrict__ targets, int V) {
  __shared__ float shared[kWarp];
  const int64_t row = blockIdx.x;
  const float* x = logits + row * V;
  float m = -INFINITY;
  for (int j = threadIdx.x; j < V; j += blockDim.x) m = fmaxf(m, x[j]);
  m = block_max(m, shared);
  float s = 0.f, u = 0.f;
  for (int j = threadIdx.x; j < V; j += blockDim.x) {
    const float d = x[j] - m;
    const float e = expf(d);
    s += e;
    u = fmaf(e, d, u);
  }
  s = block_sum(s, shared);
  u = block_sum(u, shared);
  if (threadIdx.x == 0) {
    const float log_s = logf(s);
    const int32_t t = targets[row];
    // An out-of-range target gives NaN, which the loss guard reports; a kernel cannot throw.
    loss[row] = t < 0 ? 0.f : (t >= V ? NAN : (m + log_s) - x[t]);
    entropy[row] = log_s - u / s;
  }
}

// dlogits = dloss * (softmax - onehot(target)). No __restrict__: dlogits may alias logits; every
// element is read (twice, in the reductions and below) by the thread that then overwrites it,
// and the reductions finish (block sync) before any write.
__global__ void cross_entropy_backward_kernel(float* dlogits, const float* logits,
                                              const int32_t* targets, const float* dloss, int V) {
  __shared__ float shared[kWarp];
  const int64_t row = blockIdx.x;
  const float* x = logits + row * V;
  float* dx = dlogits + row * V;
  const int32_t t = targets[row];
  if (t < 0) {
    for (int j = threadIdx.x; j < V; j += blockDim.x) dx[j] = 0.f;
    return;
  }
  float m = -INFINITY;
  for (int j = threadIdx.x; j < V; j += blockDim.x) m = fmaxf(m, x[j]);
  m = block_max(m, shared);
  float s = 0.f;
  for (int j = threadIdx.x; j < V; j += blockDim.x) s += expf(x[j] - m);
  s = block_sum(s, shared);
  const float scale = dloss[row] / s;
  const float dl = dloss[row];
  for (int j = threadIdx.x; j < V; j += blockDim.x) {
    const float p_scaled = expf(x[j] - m) * scale;
    dx[j] = j == t ? p_scaled - dl : p_scaled;
  }
}

}  // namespace

void CudaBackend::cross_entropy_forward(float* loss, float* entropy, const float* logits,
                                        const int32_t* targets, int n, int V) {
  check_nonneg("cross_entropy_forward", "n", n);
  if (V <= 0) fail_arg("cross_entropy_forward", "V must be > 0, got " + std::to_string(V));
  if (n == 0) return;
  cross_entropy_forward_kernel<<<n, kCeThreads, 0, stream_>>>(loss, entropy, logits, targets, V);
  TANDEM_CUDA_LAUNCH_CHECK("cross_entropy_forward");
}

void CudaBackend::cross_entropy_backward(float* dlogits, const float* logits,
                                         const int32_t* targets, const float* dloss, int n, int V) {
  check_nonneg("cross_entropy_backward", "n", n);
  if (V <= 0) fail_arg("cross_entropy_backward", "V must be > 0, got " + std::to_string(V));
  if (n == 0) return;
  cross_entropy_backward_kernel<<<n, kCeThreads, 0, stream_>>>(dlogits, logits, targets, dloss, V);
  TANDEM_CUDA_LAUNCH_CHECK("cross_entropy_backward");
}

}  // namespace tandem::cuda
