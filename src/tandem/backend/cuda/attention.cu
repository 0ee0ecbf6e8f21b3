// Causal grouped-query attention: forward (saving log-sum-exp), backward (recomputing the
// probabilities from lse), and decode over a KV cache. Flash-style: keys and values stream through
// shared memory in tiles of 32, each warp keeps one query row's running max, sum and output in
// registers, so nothing of size (T,T) is ever stored.
//
// Work split: one warp per query row; lane j of a warp scores key j of the current tile, and for
// the output lane l owns dims l, l+32, ... (NV = ceil(D/32) of them, a template parameter so the
// accumulators stay in registers; D <= 256).
//
// Packed rows (pos given): row i sees keys [i - pos[i], i], its own document. A tile wholly before
// a row's document is skipped (warp-uniform), one it straddles is masked; the blocks' tile loops
// start at the first document start among their rows. With pos null nothing changes.
//
// Reproducibility: every sum runs in a fixed order (shuffle-xor trees, keys in increasing order,
// explicit fmaf so the compiler cannot contract differently in different kernels). A row's result
// depends only on its own query and keys [0, n_keys), never on its neighbours in the block or the
// batch. attention_decode runs the very same per-row routine, so a decode step reproduces the
// bits of the forward's last row for the same q, k, v.
#include <algorithm>
#include <string>
#include <type_traits>
#include <vector>

#include "tandem/backend/cuda/common.cuh"
#include "tandem/backend/cuda/cuda_backend.h"

namespace tandem::cuda {
namespace {

constexpr int kTile = 32;  // keys (or queries) per shared-memory tile: one per lane
constexpr int kRows = 8;   // warps per block, one row (query or key) each
constexpr int kMaxNV = 8;  // D <= 32 * kMaxNV
constexpr int kThreads = kRows * kWarp;

// Tiles are read row-wise by lanes (lane j reads row j), so rows are padded to D + 1 floats to
// spread lanes over all shared-memory banks.
__host__ __device__ inline int padded(int D) {
  return D + 1;
}

// Cooperatively copies rows [first, first + kTile) of a strided matrix into a padded tile; rows
// at or beyond `limit` are zero-filled (they are never used, zero keeps them harmless).
__device__ void load_tile(float* tile, const float* base, int64_t stride, int first, int limit,
                          int D) {
  const int ld = padded(D);
  for (int e = threadIdx.x; e < kTile * D; e += blockDim.x) {
    const int j = e / D, d = e % D;
    const int row = first + j;
    tile[j * ld + d] = row < limit ? base[int64_t(row) * stride + d] : 0.f;
  }
}

__device__ inline float dot_row(const float* a, const float* b, int D) {
  float acc = 0.f;
  for (int d = 0; d < D; ++d) acc = fmaf(a[d], b[d], acc);
  return acc;
}

// First key row i of a sequence may see: the start of its document (pos: that sequence's (T)).
__device__ inline int first_key(const int32_t* pos, int i) {
  return pos ? max(0, i - pos[i]) : 0;
}

// One warp attends its query q_s (in shared memory) to keys [first, n_keys) of k_base/v_base (row
// stride kv_stride). All warps of the block call it together with the same tile range
// [block_first, block_keys) (block_first a multiple of kTile at or before every warp's first,
// block_keys the most keys any warp needs): it contains __syncthreads(). Writes out_row[0, D) and
// *lse_out when given.
template <int NV>
__device__ void attend_row(const float* q_s, int first, int n_keys, int block_first, int block_keys,
                           const float* k_base, const float* v_base, int64_t kv_stride, int D,
                           float scale, float* Ks, float* Vs, float* out_row, float* lse_out) {
  const int lane = threadIdx.x % kWarp;
  const int ld = padded(D);
  float m = -INFINITY, l = 0.f;
  float o[NV];
#pragma unroll
  for (int r = 0; r < NV; ++r) o[r] = 0.f;

  for (int t0 = block_first; t0 < block_keys; t0 += kTile) {
    __syncthreads();  // the previous tile is fully consumed
    load_tile(Ks, k_base, kv_stride, t0, block_keys, D);
    load_tile(Vs, v_base, kv_stride, t0, block_keys, D);
    __syncthreads();
    // Warp-uniform: this row needs no key of this tile.
    if (t0 >= n_keys || t0 + kTile <= first) continue;
    const int key = t0 + lane;
    const bool valid = key >= first && key < n_keys;
    // __fmul_rn/__fsub_rn are never fused into an FMA, so both kernels that inline this routine
    // round identically whatever the optimiser does around them.
    const float s = valid ? __fmul_rn(dot_row(q_s, Ks + lane * ld, D), scale) : -INFINITY;
    const float m_new = fmaxf(m, warp_max(s));  // finite: the first tile holds key `first`
    const float p = valid ? expf(__fsub_rn(s, m_new)) : 0.f;
    const float alpha = expf(__fsub_rn(m, m_new));  // 0 on the first tile (m = -inf)
    l = fmaf(l, alpha, warp_sum(p));
#pragma unroll
    for (int r = 0; r < NV; ++r) o[r] = __fmul_rn(o[r], alpha);
    const int jmax = min(kTile, n_keys - t0);
    for (int j = max(0, first - t0); j < jmax; ++j) {
      const float pj = __shfl_sync(kFullMask, p, j);
#pragma unroll
      for (int r = 0; r < NV; ++r) {
        const int d = lane + r * kWarp;
        if (d < D) o[r] = fmaf(pj, Vs[j * ld + d], o[r]);
      }
    }
    m = m_new;
  }
  // No keys at all (an empty KV cache): a zero output and lse = -inf rather than 0/0.
  const float inv_l = l > 0.f ? 1.f / l : 0.f;
  if (out_row) {
#pragma unroll
    for (int r = 0; r < NV; ++r) {
      const int d = lane + r * kWarp;
      if (d < D) out_row[d] = __fmul_rn(o[r], inv_l);
    }
  }
  if (lse_out && lane == 0) *lse_out = l > 0.f ? m + logf(l) : -INFINITY;
}

// Shared memory: Ks, Vs (kTile x (D+1) each), then one D-vector per warp for the query.
size_t forward_smem(int D) {
  return sizeof(float) * (2 * kTile * padded(D) + kRows * D);
}

// Grid: (ceil(T / kRows), Hq, B). Warp w handles query row blockIdx.x * kRows + w of head
// blockIdx.y in sequence blockIdx.z, attending causally to keys [first_key(row), row].
template <int NV>
__global__ void __launch_bounds__(kThreads)
    attention_forward_kernel(float* __restrict__ out, float* __restrict__ lse,
                             const float* __restrict__ q, const float* __restrict__ k,
                             const float* __restrict__ v, const int32_t* __restrict__ pos, int T,
                             int Hq, int Hkv, int D, float scale) {
  extern __shared__ float smem[];
  float* Ks = smem;
  float* Vs = Ks + kTile * padded(D);
  float* Qs = Vs + kTile * padded(D);
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  const int b = blockIdx.z, h = blockIdx.y, kvh = h / (Hq / Hkv);
  const int row0 = blockIdx.x * kRows, i = row0 + warp;
  const bool active = i < T;
  float* q_s = Qs + warp * D;
  const int64_t q_off = ((int64_t(b) * T + i) * Hq + h) * D;
  if (active)
    for (int d = lane; d < D; d += kWarp) q_s[d] = q[q_off + d];
  const int64_t kv_off = (int64_t(b) * T * Hkv + kvh) * D;
  const int32_t* pos_b = pos ? pos + int64_t(b) * T : nullptr;
  // Documents are contiguous: the block's first row has the earliest first key.
  const int block_first = first_key(pos_b, row0) / kTile * kTile;
  attend_row<NV>(q_s, active ? first_key(pos_b, i) : 0, active ? i + 1 : 0, block_first,
                 min(row0 + kRows, T), k + kv_off, v + kv_off, int64_t(Hkv) * D, D, scale, Ks, Vs,
                 active ? out + q_off : nullptr,
                 active ? lse + (int64_t(b) * Hq + h) * T + i : nullptr);
}

// Grid: (ceil(G / kRows), Hkv, B) with G = Hq / Hkv. Warp w handles query head
// kvh * G + blockIdx.x * kRows + w: the heads of one group share each loaded K/V tile.
template <int NV>
__global__ void __launch_bounds__(kThreads)
    attention_decode_kernel(float* __restrict__ out, const float* __restrict__ q,
                            const float* __restrict__ k_cache, const float* __restrict__ v_cache,
                            const int32_t* __restrict__ slot, const int32_t* __restrict__ lens,
                            int max_T, int Hq, int Hkv, int D, float scale) {
  extern __shared__ float smem[];
  float* Ks = smem;
  float* Vs = Ks + kTile * padded(D);
  float* Qs = Vs + kTile * padded(D);
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  const int G = Hq / Hkv;
  const int b = blockIdx.z, kvh = blockIdx.y, g = blockIdx.x * kRows + warp;
  const bool active = g < G;
  const int h = kvh * G + g;
  // The host checked lens; the clamp only guards memory should that ever change.
  const int n_keys = max(0, min(lens[b], max_T));
  float* q_s = Qs + warp * D;
  const int64_t q_off = (int64_t(b) * Hq + h) * D;
  if (active)
    for (int d = lane; d < D; d += kWarp) q_s[d] = q[q_off + d];
  // Row b reads the cache of slot[b] (row b's own when there is no slot map).
  const int cache = slot ? slot[b] : b;
  const int64_t kv_off = (int64_t(cache) * max_T * Hkv + kvh) * D;
  attend_row<NV>(q_s, 0, active ? n_keys : 0, 0, n_keys, k_cache + kv_off, v_cache + kv_off,
                 int64_t(Hkv) * D, D, scale, Ks, Vs, active ? out + q_off : nullptr, nullptr);
}

// delta(B,Hq,T) = rowsum(dout * out), the softmax-backward correction term. One warp per row.
__global__ void attention_delta_kernel(float* __restrict__ delta, const float* __restrict__ dout,
                                       const float* __restrict__ out, int B, int T, int Hq, int D) {
  const int64_t rows = int64_t(B) * T * Hq;
  const int64_t row = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= rows) return;  // warp-uniform
  const float* a = dout + row * D;
  const float* c = out + row * D;
  float acc = 0.f;
  for (int d = lane; d < D; d += kWarp) acc = fmaf(a[d], c[d], acc);
  acc = warp_sum(acc);
  // row enumerates (b, t, h); delta is laid out (b, h, t) like lse.
  const int64_t h = row % Hq, t = (row / Hq) % T, b = row / (int64_t(Hq) * T);
  if (lane == 0) delta[(b * Hq + h) * T + t] = acc;
}

// Shared memory of the dq kernel: Ks, Vs tiles, then q and dout vectors per warp.
size_t dq_smem(int D) {
  return sizeof(float) * (2 * kTile * padded(D) + 2 * kRows * D);
}

// dq_i = scale * sum_j p_ij (dp_ij - delta_i) k_j with p_ij = exp(s_ij - lse_i) and
// dp_ij = dout_i . v_j. Grid and warps as in the forward: one warp per query row.
template <int NV>
__global__ void __launch_bounds__(kThreads)
    attention_dq_kernel(float* __restrict__ dq, const float* __restrict__ dout,
                        const float* __restrict__ q, const float* __restrict__ k,
                        const float* __restrict__ v, const int32_t* __restrict__ pos,
                        const float* __restrict__ lse, const float* __restrict__ delta, int T,
                        int Hq, int Hkv, int D, float scale) {
  extern __shared__ float smem[];
  const int ld = padded(D);
  float* Ks = smem;
  float* Vs = Ks + kTile * ld;
  float* Qs = Vs + kTile * ld;
  float* dOs = Qs + kRows * D;
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  const int b = blockIdx.z, h = blockIdx.y, kvh = h / (Hq / Hkv);
  const int row0 = blockIdx.x * kRows, i = row0 + warp;
  const bool active = i < T;
  float* q_s = Qs + warp * D;
  float* do_s = dOs + warp * D;
  const int64_t q_off = ((int64_t(b) * T + i) * Hq + h) * D;
  float lse_i = 0.f, delta_i = 0.f;
  if (active) {
    for (int d = lane; d < D; d += kWarp) q_s[d] = q[q_off + d], do_s[d] = dout[q_off + d];
    lse_i = lse[(int64_t(b) * Hq + h) * T + i];
    delta_i = delta[(int64_t(b) * Hq + h) * T + i];
  }
  const int32_t* pos_b = pos ? pos + int64_t(b) * T : nullptr;
  const int n_keys = active ? i + 1 : 0, first = active ? first_key(pos_b, i) : 0;
  const int block_first = first_key(pos_b, row0) / kTile * kTile;
  const int block_keys = min(row0 + kRows, T);
  const int64_t kv_off = (int64_t(b) * T * Hkv + kvh) * D, kv_stride = int64_t(Hkv) * D;
  float acc[NV];
#pragma unroll
  for (int r = 0; r < NV; ++r) acc[r] = 0.f;

  for (int t0 = block_first; t0 < block_keys; t0 += kTile) {
    __syncthreads();
    load_tile(Ks, k + kv_off, kv_stride, t0, block_keys, D);
    load_tile(Vs, v + kv_off, kv_stride, t0, block_keys, D);
    __syncthreads();
    if (t0 >= n_keys || t0 + kTile <= first) continue;  // warp-uniform
    const int key = t0 + lane;
    float ds = 0.f;
    if (key >= first && key < n_keys) {
      const float p = expf(dot_row(q_s, Ks + lane * ld, D) * scale - lse_i);
      const float dp = dot_row(do_s, Vs + lane * ld, D);
      ds = p * (dp - delta_i);
    }
    const int jmax = min(kTile, n_keys - t0);
    for (int j = max(0, first - t0); j < jmax; ++j) {
      const float dsj = __shfl_sync(kFullMask, ds, j);
#pragma unroll
      for (int r = 0; r < NV; ++r) {
        const int d = lane + r * kWarp;
        if (d < D) acc[r] = fmaf(dsj, Ks[j * ld + d], acc[r]);
      }
    }
  }
  if (active) {
#pragma unroll
    for (int r = 0; r < NV; ++r) {
      const int d = lane + r * kWarp;
      if (d < D) dq[q_off + d] = acc[r] * scale;
    }
  }
}

// Shared memory of the dk/dv kernel: query and dout tiles, lse, delta and first keys of the
// tile, then the key and value vectors of each warp.
size_t dkv_smem(int D) {
  return sizeof(float) * (2 * kTile * padded(D) + 3 * kTile + 2 * kRows * D);
}

// For key row j of kv head kvh, summing over the G query heads of its group (in head order) and
// the queries i >= j of its document (in increasing order):
//   dv_j = sum p_ij dout_i,  dk_j = scale * sum p_ij (dp_ij - delta_i) q_i.
// Grid: (ceil(T / kRows), Hkv, B); one warp per key row. Each key row is owned by one warp, so
// the group sum needs no atomics.
template <int NV>
__global__ void __launch_bounds__(kThreads)
    attention_dkv_kernel(float* __restrict__ dk, float* __restrict__ dv,
                         const float* __restrict__ dout, const float* __restrict__ q,
                         const float* __restrict__ k, const float* __restrict__ v,
                         const int32_t* __restrict__ pos, const float* __restrict__ lse,
                         const float* __restrict__ delta, int T, int Hq, int Hkv, int D,
                         float scale) {
  extern __shared__ float smem[];
  const int ld = padded(D);
  float* Qt = smem;
  float* dOt = Qt + kTile * ld;
  float* lse_t = dOt + kTile * ld;
  float* delta_t = lse_t + kTile;
  int* first_t = reinterpret_cast<int*>(delta_t + kTile);
  float* Kw = delta_t + 2 * kTile;
  float* Vw = Kw + kRows * D;
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  const int G = Hq / Hkv;
  const int b = blockIdx.z, kvh = blockIdx.y;
  const int row0 = blockIdx.x * kRows, j = row0 + warp;
  const bool active = j < T;
  float* k_s = Kw + warp * D;
  float* v_s = Vw + warp * D;
  const int64_t kv_off = ((int64_t(b) * T + j) * Hkv + kvh) * D;
  if (active)
    for (int d = lane; d < D; d += kWarp) k_s[d] = k[kv_off + d], v_s[d] = v[kv_off + d];
  float dk_acc[NV], dv_acc[NV];
#pragma unroll
  for (int r = 0; r < NV; ++r) dk_acc[r] = 0.f, dv_acc[r] = 0.f;

  const int64_t q_stride = int64_t(Hq) * D;
  const int32_t* pos_b = pos ? pos + int64_t(b) * T : nullptr;
  const int block_last = min(row0 + kRows, T) - 1;  // the block's last key row
  for (int g = 0; g < G; ++g) {
    const int h = kvh * G + g;
    const float* q_base = q + (int64_t(b) * T * Hq + h) * D;
    const float* do_base = dout + (int64_t(b) * T * Hq + h) * D;
    const float* lse_row = lse + (int64_t(b) * Hq + h) * T;
    const float* delta_row = delta + (int64_t(b) * Hq + h) * T;
    // Queries before the block's first key row attend to none of its keys.
    for (int t0 = row0 / kTile * kTile; t0 < T; t0 += kTile) {
      __syncthreads();
      load_tile(Qt, q_base, q_stride, t0, T, D);
      load_tile(dOt, do_base, q_stride, t0, T, D);
      if (threadIdx.x < kTile) {
        const int qi = t0 + threadIdx.x;
        lse_t[threadIdx.x] = qi < T ? lse_row[qi] : 0.f;
        delta_t[threadIdx.x] = qi < T ? delta_row[qi] : 0.f;
        first_t[threadIdx.x] = qi < T ? first_key(pos_b, qi) : T;
      }
      __syncthreads();
      // Block-uniform: the tile's first query, and so every later one (documents are contiguous),
      // belongs to a document that starts after the block's last key.
      if (first_t[0] > block_last) break;
      if (!active || t0 + kTile <= j) continue;  // warp-uniform: no query here sees key j
      const int qi = t0 + lane;
      float p = 0.f, ds = 0.f;
      if (qi < T && qi >= j && first_t[lane] <= j) {
        p = expf(dot_row(Qt + lane * ld, k_s, D) * scale - lse_t[lane]);
        const float dp = dot_row(dOt + lane * ld, v_s, D);
        ds = p * (dp - delta_t[lane]);
      }
      const int first = max(0, j - t0), last = min(kTile, T - t0);
      for (int jj = first; jj < last; ++jj) {
        const float pj = __shfl_sync(kFullMask, p, jj);
        const float dsj = __shfl_sync(kFullMask, ds, jj);
#pragma unroll
        for (int r = 0; r < NV; ++r) {
          const int d = lane + r * kWarp;
          if (d < D) {
            dv_acc[r] = fmaf(pj, dOt[jj * ld + d], dv_acc[r]);
            dk_acc[r] = fmaf(dsj, Qt[jj * ld + d], dk_acc[r]);
          }
        }
      }
    }
  }
  if (active) {
#pragma unroll
    for (int r = 0; r < NV; ++r) {
      const int d = lane + r * kWarp;
      if (d < D) dk[kv_off + d] = dk_acc[r] * scale, dv[kv_off + d] = dv_acc[r];
    }
  }
}

// Calls f(std::integral_constant<int, NV>) for NV = ceil(D / 32): one kernel instantiation per
// register budget, chosen at run time. Each level of the compile-time recursion tries one NV,
// from 1 up to kMaxNV; a D that matches none (D <= 0, or D > 32 * kMaxNV) fails.
template <int NV = 1, typename F>
void dispatch_head_dim(const char* op, int D, F&& f) {
  static_assert(NV >= 1 && NV <= kMaxNV, "NV out of range");
  if ((D + kWarp - 1) / kWarp == NV) {
    f(std::integral_constant<int, NV>{});
    return;
  }
  if constexpr (NV < kMaxNV) {
    dispatch_head_dim<NV + 1>(op, D, f);
  } else {
    fail_arg(op, "head dim D=" + std::to_string(D) + " is not supported (1.." +
                     std::to_string(kWarp * kMaxNV) + ")");
  }
}

// Kernels needing more than the default 48 KiB of dynamic shared memory must opt in.
template <typename Kernel>
void prepare_smem(const char* op, Kernel kernel, size_t bytes, size_t device_max) {
  if (bytes > device_max)
    fail_arg(op, "needs " + std::to_string(bytes) +
                     " bytes of shared memory per block, device "
                     "allows " +
                     std::to_string(device_max));
  if (bytes > 48 * 1024)
    TANDEM_CUDA_CHECK(
        op, cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)));
}

void check_heads(const char* op, int B, int T, int Hq, int Hkv, int D) {
  check_nonneg(op, "B", B);
  check_nonneg(op, "T", T);
  if (Hq <= 0 || Hkv <= 0 || Hq % Hkv != 0)
    fail_arg(op, "Hq=" + std::to_string(Hq) +
                     " must be a positive multiple of Hkv=" + std::to_string(Hkv));
  if (D <= 0) fail_arg(op, "head dim D must be > 0, got " + std::to_string(D));
  if (B > 65535 || Hq > 65535)
    fail_arg(op, "B and Hq must be <= 65535 (grid limits), got B=" + std::to_string(B) +
                     ", Hq=" + std::to_string(Hq));
}

}  // namespace

void CudaBackend::attention_forward(float* out, float* lse, const float* q, const float* k,
                                    const float* v, const int32_t* pos, int B, int T, int Hq,
                                    int Hkv, int D, float scale) {
  const char* op = "attention_forward";
  check_heads(op, B, T, Hq, Hkv, D);
  if (B == 0 || T == 0) return;
  dispatch_head_dim(op, D, [&](auto nv) {
    constexpr int NV = decltype(nv)::value;
    const size_t smem = forward_smem(D);
    prepare_smem(op, attention_forward_kernel<NV>, smem, max_smem_optin_);
    const dim3 grid((T + kRows - 1) / kRows, Hq, B);
    attention_forward_kernel<NV>
        <<<grid, kThreads, smem, stream_>>>(out, lse, q, k, v, pos, T, Hq, Hkv, D, scale);
    TANDEM_CUDA_LAUNCH_CHECK(op);
  });
}

void CudaBackend::attention_backward(float* dq, float* dk, float* dv, const float* dout,
                                     const float* q, const float* k, const float* v,
                                     const int32_t* pos, const float* out, const float* lse, int B,
                                     int T, int Hq, int Hkv, int D, float scale) {
  const char* op = "attention_backward";
  check_heads(op, B, T, Hq, Hkv, D);
  if (B == 0 || T == 0) return;
  const int64_t rows = int64_t(B) * T * Hq;
  auto* delta = static_cast<float*>(scratch(sizeof(float) * size_t(rows)));
  const int64_t delta_blocks = (rows * kWarp + 255) / 256;
  attention_delta_kernel<<<unsigned(delta_blocks), 256, 0, stream_>>>(delta, dout, out, B, T, Hq,
                                                                      D);
  TANDEM_CUDA_LAUNCH_CHECK(op);
  dispatch_head_dim(op, D, [&](auto nv) {
    constexpr int NV = decltype(nv)::value;
    const size_t smem_q = dq_smem(D), smem_kv = dkv_smem(D);
    prepare_smem(op, attention_dq_kernel<NV>, smem_q, max_smem_optin_);
    prepare_smem(op, attention_dkv_kernel<NV>, smem_kv, max_smem_optin_);
    const dim3 grid_q((T + kRows - 1) / kRows, Hq, B);
    attention_dq_kernel<NV><<<grid_q, kThreads, smem_q, stream_>>>(dq, dout, q, k, v, pos, lse,
                                                                   delta, T, Hq, Hkv, D, scale);
    TANDEM_CUDA_LAUNCH_CHECK(op);
    const dim3 grid_kv((T + kRows - 1) / kRows, Hkv, B);
    attention_dkv_kernel<NV><<<grid_kv, kThreads, smem_kv, stream_>>>(
        dk, dv, dout, q, k, v, pos, lse, delta, T, Hq, Hkv, D, scale);
    TANDEM_CUDA_LAUNCH_CHECK(op);
  });
}

void CudaBackend::attention_decode(float* out, const float* q, const float* k_cache,
                                   const float* v_cache, const int32_t* slot, const int32_t* lens,
                                   int B, int slots, int max_T, int Hq, int Hkv, int D,
                                   float scale) {
  const char* op = "attention_decode";
  check_heads(op, B, max_T, Hq, Hkv, D);
  if (B == 0) return;
  if (!slot && B > slots)
    fail_arg(op, std::to_string(B) + " rows without a slot map need as many slots, got " +
                     std::to_string(slots));
  // Lengths and slots live on the device; a kernel cannot throw, so bring them over and check
  // them here. This waits for the stream, which a decode step does anyway to sample its token.
  std::vector<int32_t> host_lens(B), host_slot(slot ? B : 0);
  to_host(host_lens.data(), lens, sizeof(int32_t) * size_t(B));
  if (slot) to_host(host_slot.data(), slot, sizeof(int32_t) * size_t(B));
  for (int b = 0; b < B; ++b) {
    if (host_lens[b] < 0 || host_lens[b] > max_T)
      fail_arg(op, "lens[" + std::to_string(b) + "] = " + std::to_string(host_lens[b]) +
                       " not in [0, " + std::to_string(max_T) + "]");
    if (slot && (host_slot[b] < 0 || host_slot[b] >= slots))
      fail_arg(op, "slot[" + std::to_string(b) + "] = " + std::to_string(host_slot[b]) +
                       " not in [0, " + std::to_string(slots) + ")");
  }
  dispatch_head_dim(op, D, [&](auto nv) {
    constexpr int NV = decltype(nv)::value;
    const size_t smem = forward_smem(D);
    prepare_smem(op, attention_decode_kernel<NV>, smem, max_smem_optin_);
    const int G = Hq / Hkv;
    // Rows go in grid.z, which holds at most 65535: a longer prompt is launched in pieces. Without
    // a slot map, row b reads slot b, so a later piece passes its slots explicitly.
    constexpr int kMaxRows = 65535;
    for (int b0 = 0; b0 < B; b0 += kMaxRows) {
      const int rows = std::min(kMaxRows, B - b0);
      if (!slot && b0 > 0)
        fail_arg(op, "more than 65535 rows need a slot map");
      const dim3 grid((G + kRows - 1) / kRows, Hkv, rows);
      const int64_t row_off = int64_t(b0) * Hq * D;
      attention_decode_kernel<NV><<<grid, kThreads, smem, stream_>>>(
          out + row_off, q + row_off, k_cache, v_cache, slot ? slot + b0 : nullptr, lens + b0,
          max_T, Hq, Hkv, D, scale);
      TANDEM_CUDA_LAUNCH_CHECK(op);
    }
  });
}

}  // namespace tandem::cuda
