// Token embedding forward and backward. The backward must sum the rows of every repeated token
// without float atomics: (id, position) pairs are stable-sorted by id (a radix sort, whose output
// is unique, hence deterministic), and one block per distinct id adds its rows in position order.
#include <cub/device/device_radix_sort.cuh>
#include <string>

#include "tandem/backend/cuda/common.cuh"
#include "tandem/backend/cuda/cuda_backend.h"

namespace tandem::cuda {
namespace {

constexpr int kEmbThreads = 128;

// out(n,C) = table[ids[i]]; a negative id gives a NaN row (a kernel cannot throw; the trainer's
// finite-check guard reports it). Grid: one block per row.
__global__ void embedding_forward_kernel(float* __restrict__ out, const int32_t* __restrict__ ids,
                                         const float* __restrict__ table, int C) {
  const int64_t row = blockIdx.x;
  const int32_t id = ids[row];
  float* o = out + row * C;
  if (id < 0) {
    for (int c = threadIdx.x; c < C; c += blockDim.x) o[c] = NAN;
    return;
  }
  const float* t = table + int64_t(id) * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) o[c] = t[c];
}

__global__ void iota_kernel(int32_t* x, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) x[i] = i;
}

// Grid: one block per sorted position p. The block at the first position of each run of equal
// ids adds all of the run's dout rows, in increasing position, onto dtable[id]; other blocks exit.
// Starting from dtable's current value and adding row by row is the order a sequential loop uses.
__global__ void embedding_backward_kernel(float* __restrict__ dtable,
                                          const float* __restrict__ dout,
                                          const int32_t* __restrict__ sorted_ids,
                                          const int32_t* __restrict__ sorted_pos, int n, int C) {
  const int p = blockIdx.x;
  const int32_t id = sorted_ids[p];
  if (id < 0 || (p > 0 && sorted_ids[p - 1] == id)) return;
  int end = p + 1;
  while (end < n && sorted_ids[end] == id) ++end;
  float* t = dtable + int64_t(id) * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    float acc = t[c];
    for (int q = p; q < end; ++q) acc += dout[int64_t(sorted_pos[q]) * C + c];
    t[c] = acc;
  }
}

size_t align_up(size_t x) {
  return (x + 255) / 256 * 256;
}

}  // namespace

void CudaBackend::embedding_forward(float* out, const int32_t* ids, const float* table, int n,
                                    int C) {
  check_nonneg("embedding_forward", "n", n);
  check_nonneg("embedding_forward", "C", C);
  if (n == 0 || C == 0) return;
  embedding_forward_kernel<<<n, kEmbThreads, 0, stream_>>>(out, ids, table, C);
  TANDEM_CUDA_LAUNCH_CHECK("embedding_forward");
}

void CudaBackend::embedding_backward(float* dtable, const float* dout, const int32_t* ids, int n,
                                     int C) {
  check_nonneg("embedding_backward", "n", n);
  check_nonneg("embedding_backward", "C", C);
  if (n == 0 || C == 0) return;
  // Scratch: sorted ids, positions before and after sorting, then CUB's temporary storage.
  size_t temp_bytes = 0;
  TANDEM_CUDA_CHECK(
      "embedding_backward",
      cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes, ids, static_cast<int32_t*>(nullptr),
                                      static_cast<const int32_t*>(nullptr),
                                      static_cast<int32_t*>(nullptr), n, 0, 32, stream_));
  const size_t ints = align_up(sizeof(int32_t) * size_t(n));
  char* base = static_cast<char*>(scratch(3 * ints + temp_bytes));
  auto* sorted_ids = reinterpret_cast<int32_t*>(base);
  auto* pos = reinterpret_cast<int32_t*>(base + ints);
  auto* sorted_pos = reinterpret_cast<int32_t*>(base + 2 * ints);
  void* temp = base + 3 * ints;

  iota_kernel<<<elementwise_blocks(n, 256), 256, 0, stream_>>>(pos, n);
  TANDEM_CUDA_LAUNCH_CHECK("embedding_backward");
  TANDEM_CUDA_CHECK("embedding_backward",
                    cub::DeviceRadixSort::SortPairs(temp, temp_bytes, ids, sorted_ids, pos,
                                                    sorted_pos, n, 0, 32, stream_));
  embedding_backward_kernel<<<n, kEmbThreads, 0, stream_>>>(dtable, dout, sorted_ids, sorted_pos, n,
                                                            C);
  TANDEM_CUDA_LAUNCH_CHECK("embedding_backward");
}

}  // namespace tandem::cuda
