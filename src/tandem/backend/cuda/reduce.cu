// Whole-buffer reductions to the host: sum of squares (gradient norm) and the finite check.
// Deterministic two-pass scheme: a fixed number of blocks (a function of n only) each reduce a
// grid-strided share in double, then one block sums the partials in order. No atomics.
#include <algorithm>

#include "tandem/backend/cuda/common.cuh"
#include "tandem/backend/cuda/cuda_backend.h"

namespace tandem::cuda {
namespace {

constexpr int kReduceThreads = 256;
constexpr int kMaxReduceBlocks = 1024;

struct SquareOp {
  __device__ double operator()(float x) const { return double(x) * double(x); }
};
// Counts non-finite values; the count is small and exact in double.
struct NonFiniteOp {
  __device__ double operator()(float x) const { return isfinite(x) ? 0.0 : 1.0; }
};

template <typename Op>
__global__ void reduce_partial_kernel(double* __restrict__ partial, const float* __restrict__ x,
                                      size_t n, Op op) {
  __shared__ double shared[kWarp];
  double acc = 0.0;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x)
    acc += op(x[i]);
  acc = block_sum(acc, shared);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

__global__ void reduce_final_kernel(double* __restrict__ result, const double* __restrict__ partial,
                                    int count) {
  __shared__ double shared[kWarp];
  double acc = 0.0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) acc += partial[i];
  acc = block_sum(acc, shared);
  if (threadIdx.x == 0) *result = acc;
}

template <typename Op>
double reduce_to_host(CudaBackend& be, const char* op_name, const float* x, size_t n, Op op) {
  if (n == 0) return 0.0;
  const int blocks =
      int(std::min<size_t>((n + kReduceThreads - 1) / kReduceThreads, kMaxReduceBlocks));
  auto* partial = static_cast<double*>(be.scratch(sizeof(double) * (blocks + 1)));
  double* result = partial + blocks;
  reduce_partial_kernel<<<blocks, kReduceThreads, 0, be.stream()>>>(partial, x, n, op);
  TANDEM_CUDA_LAUNCH_CHECK(op_name);
  reduce_final_kernel<<<1, kReduceThreads, 0, be.stream()>>>(result, partial, blocks);
  TANDEM_CUDA_LAUNCH_CHECK(op_name);
  double host = 0.0;
  be.to_host(&host, result, sizeof(double));
  return host;
}

}  // namespace

double CudaBackend::sum_squares(const float* x, size_t n) {
  return reduce_to_host(*this, "sum_squares", x, n, SquareOp{});
}

bool CudaBackend::all_finite(const float* x, size_t n) {
  return reduce_to_host(*this, "all_finite", x, n, NonFiniteOp{}) == 0.0;
}

}  // namespace tandem::cuda
