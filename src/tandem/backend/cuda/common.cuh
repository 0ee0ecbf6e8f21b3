#pragma once
// Helpers shared by the kernels of the CUDA backend: launch sizing and block reductions.
// Reductions combine values in a fixed tree (strided per-thread sums, then shuffle-xor within a
// warp, then warp results in order), so for a given block size and length the bits never change:
// no atomics, no dependence on scheduling.
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "tandem/backend/cuda/cuda_error.h"

namespace tandem::cuda {

constexpr int kWarp = 32;
constexpr unsigned kFullMask = 0xffffffffu;

// Blocks for a grid-stride elementwise loop over n items: enough to fill the device, capped so
// the count fits a 1-D grid comfortably.
inline unsigned elementwise_blocks(size_t n, int threads) {
  const size_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(blocks < (1u << 20) ? blocks : (1u << 20));
}

inline void check_nonneg(const char* op, const char* what, long long value) {
  if (value < 0) fail_arg(op, std::string(what) + " must be >= 0, got " + std::to_string(value));
}

template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int o = kWarp / 2; o > 0; o /= 2) v += __shfl_xor_sync(kFullMask, v, o);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
  for (int o = kWarp / 2; o > 0; o /= 2) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, o));
  return v;
}

// Sum over the block; every thread gets the result. `shared` holds >= 32 T. blockDim.x must be a
// multiple of 32. Contains __syncthreads(): call from all threads.
template <typename T>
__device__ T block_sum(T v, T* shared) {
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  const int warps = blockDim.x / kWarp;
  v = warp_sum(v);
  __syncthreads();  // shared may still be read by a previous reduction
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  T total = lane < warps ? shared[lane] : T(0);
  return warp_sum(total);
}

__device__ inline float block_max(float v, float* shared) {
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  const int warps = blockDim.x / kWarp;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  float m = lane < warps ? shared[lane] : -INFINITY;
  return warp_max(m);
}

}  // namespace tandem::cuda
