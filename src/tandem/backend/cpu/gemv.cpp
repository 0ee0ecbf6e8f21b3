// The one-row product of gemv.h. Eight rows of W at a time: eight floats of each row are loaded,
// transposed in registers (k-th register = column k of the 8 rows) and fed to the eight rows'
// accumulator in increasing k, so each row keeps its single fma chain while every load reads
// contiguous memory. Two such groups run side by side to hide the latency of the chains.
#include "tandem/backend/cpu/gemv.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "tandem/backend/cpu/v8.h"

namespace tandem::cpu {

namespace {

constexpr int kL = 8;       // rows per group, floats per register
constexpr int kGroups = 2;  // groups per step
constexpr int kRowsPerTask = 64;

inline void load(v8& v, const float* p) {
  std::memcpy(&v, p, sizeof(v));
}

// r[i] = W[row i][k .. k+8) in, c[m] = W[row 0..8)[k + m] out.
inline void transpose8(const v8 (&r)[kL], v8 (&c)[kL]) {
  v8 t[kL], u[kL];
  for (int i = 0; i < kL; i += 2) {
    t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
    t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
  }
  for (int i = 0; i < kL; i += 4)
    for (int h = 0; h < 2; ++h) {
      u[i + 2 * h] = __builtin_shufflevector(t[i + h], t[i + h + 2], 0, 1, 8, 9, 4, 5, 12, 13);
      u[i + 2 * h + 1] =
          __builtin_shufflevector(t[i + h], t[i + h + 2], 2, 3, 10, 11, 6, 7, 14, 15);
    }
  for (int m = 0; m < 4; ++m) {
    c[m] = __builtin_shufflevector(u[m], u[m + 4], 0, 1, 2, 3, 8, 9, 10, 11);
    c[m + 4] = __builtin_shufflevector(u[m], u[m + 4], 4, 5, 6, 7, 12, 13, 14, 15);
  }
}

// kGroups * 8 consecutive rows starting at W; acc[g][i] = row g * 8 + i's chain.
inline void rows_block(int K, const float* x, const float* W, int64_t ldw, v8 (&acc)[kGroups]) {
  for (int g = 0; g < kGroups; ++g) acc[g] = v8{};
  int k = 0;
  for (; k + kL <= K; k += kL) {
#pragma GCC unroll 2
    for (int g = 0; g < kGroups; ++g) {
      v8 r[kL], c[kL];
#pragma GCC unroll 8
      for (int i = 0; i < kL; ++i) load(r[i], W + (g * kL + i) * ldw + k);
      transpose8(r, c);
#pragma GCC unroll 8
      for (int m = 0; m < kL; ++m) {
        const float xv = x[k + m];
        fma_lanes(acc[g], c[m], v8{} + xv);
      }
    }
  }
  for (; k < K; ++k)
    for (int g = 0; g < kGroups; ++g) {
      v8 c;
      for (int i = 0; i < kL; ++i) c[i] = W[(g * kL + i) * ldw + k];
      const float xv = x[k];
      fma_lanes(acc[g], c, v8{} + xv);
    }
}

inline float finish(float sum, float alpha, float beta, const float* y) {
  return std::fma(sum, alpha, beta == 0.0f ? 0.0f : beta * *y);
}

}  // namespace

void gemv_rows(int N, int K, float alpha, const float* x, const float* W, int64_t ldw, float beta,
               float* y) {
  const int tasks = (N + kRowsPerTask - 1) / kRowsPerTask;
  const bool par = tasks > 1 && int64_t(N) * K >= (int64_t(1) << 16);
#pragma omp parallel for schedule(static) if (par)
  for (int task = 0; task < tasks; ++task) {
    const int j0 = task * kRowsPerTask, j1 = std::min(N, j0 + kRowsPerTask);
    int j = j0;
    for (; j + kGroups * kL <= j1; j += kGroups * kL) {
      v8 acc[kGroups];
      rows_block(K, x, W + j * ldw, ldw, acc);
      for (int g = 0; g < kGroups; ++g)
        for (int i = 0; i < kL; ++i) {
          float* out = y + j + g * kL + i;
          *out = finish(acc[g][i], alpha, beta, out);
        }
    }
    for (; j < j1; ++j) {  // the last rows, one chain each
      const float* w = W + j * ldw;
      float sum = 0.0f;
      for (int k = 0; k < K; ++k) sum = std::fma(w[k], x[k], sum);
      y[j] = finish(sum, alpha, beta, y + j);
    }
  }
}

}  // namespace tandem::cpu
