// Batch-invariant GEMM for the CPU backend's batch-invariant mode (backend.h).
//
// OpenBLAS picks its blocking, its micro-kernel and so its summation order from M (and from the
// rows beside a row), so a row of C may round differently when one more sequence joins a decode
// step or when the trainer computes it inside a (B*T)-row batch. Here every element
//   C[i][j] = alpha * sum_k op(A)[i][k] op(B)[k][j]  (+ beta * C[i][j] when beta != 0)
// goes through the same sequence of operations, which depends on K alone:
//   * eight partial sums: term k goes to lane k % 8 and each lane is one chain of correctly
//     rounded fused multiply-adds in increasing k (a last partial group of K % 8 terms fills
//     lanes [0, K % 8), the other lanes add 0 * 0);
//   * the lanes combined in one fixed tree, ((l0+l4) + (l2+l6)) + ((l1+l5) + (l3+l7));
//   * then r = alpha * s, and r + beta * C[i][j] only when beta != 0 (C is not read otherwise).
// This file is compiled with -ffp-contract=off (src/CMakeLists.txt), so the compiler fuses or
// splits nothing on its own; and since an fma is correctly rounded, the vfmadd231ps of an FMA build
// and std::fma (libm's fmaf) of a build without FMA give the same bits.
//
// Speed: one register tile of kMR = 3 rows x kNR = 4 columns of C (12 accumulators of 8 lanes, the
// 3 rows' and 1 column's 8 k-values: all 16 AVX2 registers) reads one group of 8 k from each row
// of op(A) and column of op(B) per step: 7 loads for 12 FMAs. Both must be contiguous in k: op(A)
// rows are when A is not transposed, op(B) columns when B is (the model's x @ W^T, every forward
// projection, needs no copy at all); otherwise a task packs its rows or columns into panels first
// (8x8 blocks, reused by the thread's next task when it needs the same panel). Every element goes
// through that one tile: a tile at the edge of C points its missing rows or columns at ones it has
// and drops their results. Tasks are (matrix, column block, row block) with column blocks sized by
// K; OpenMP hands them to threads, which cannot change a bit.
#include "tandem/backend/cpu/gemm_invariant.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "tandem/backend/cpu/v8.h"

namespace tandem::cpu {

namespace {

constexpr int kL = 8;   // lanes of the k-sum (one AVX2 register)
constexpr int kMR = 3;  // rows of C per register tile
constexpr int kNR = 4;  // columns of C per register tile
constexpr int kRowsPerTask = 16 * kMR;

using v4 = float __attribute__((vector_size(4 * sizeof(float))));

// Keeps a loaded value in a register: GCC otherwise re-reads operands from memory in every FMA
// that uses them (a load per FMA instead of 7 per 12), which halves the speed. No effect on values.
inline void pin(v8& x) {
#if defined(__AVX__)
  __asm__("" : "+x"(x));
#else
  (void)x;
#endif
}
inline void load_full(v8& x, const float* p) {
  std::memcpy(&x, p, sizeof(v8));
  pin(x);
}
// Lanes [0, n) from p, zeros above: the last, partial group of k.
inline void load_part(v8& x, const float* p, int n) {
  x = v8{};
  std::memcpy(&x, p, size_t(n) * sizeof(float));
  pin(x);
}

// One group of k: terms [k, k + n) of every row a[i] and column b[j] (n = kL unless kPartial).
template <bool kPartial>
inline void step(v8 (&acc)[kMR][kNR], const float* const* a, const float* const* b, int k, int n) {
  v8 av[kMR];
#pragma GCC unroll 4
  for (int i = 0; i < kMR; ++i) {
    if constexpr (kPartial)
      load_part(av[i], a[i] + k, n);
    else
      load_full(av[i], a[i] + k);
  }
#pragma GCC unroll 4
  for (int j = 0; j < kNR; ++j) {
    v8 bv;
    if constexpr (kPartial)
      load_part(bv, b[j] + k, n);
    else
      load_full(bv, b[j] + k);
#pragma GCC unroll 4
    for (int i = 0; i < kMR; ++i) fma_lanes(acc[i][j], av[i], bv);
  }
}

// The lanes of four accumulators combined at once, each as ((l0+l4) + (l2+l6)) + ((l1+l5) +
// (l3+l7)): the same additions, in the same order, for every element.
inline void reduce4(const v8& x0, const v8& x1, const v8& x2, const v8& x3, float* out) {
  auto halves = [](const v8& x) {  // (l0+l4, l1+l5, l2+l6, l3+l7)
    const v4 lo = __builtin_shufflevector(x, x, 0, 1, 2, 3);
    const v4 hi = __builtin_shufflevector(x, x, 4, 5, 6, 7);
    return lo + hi;
  };
  const v4 s0 = halves(x0), s1 = halves(x1), s2 = halves(x2), s3 = halves(x3);
  // (t0+t2 of x0, of x1, t1+t3 of x0, of x1), and the same for x2, x3
  const v4 p01 =
      __builtin_shufflevector(s0, s1, 0, 4, 1, 5) + __builtin_shufflevector(s0, s1, 2, 6, 3, 7);
  const v4 p23 =
      __builtin_shufflevector(s2, s3, 0, 4, 1, 5) + __builtin_shufflevector(s2, s3, 2, 6, 3, 7);
  const v4 r =
      __builtin_shufflevector(p01, p23, 0, 1, 4, 5) + __builtin_shufflevector(p01, p23, 2, 3, 6, 7);
  std::memcpy(out, &r, sizeof r);
}

static_assert(kNR == 4, "reduce4 combines one tile row at a time");

// s = the kMR x kNR dot products of rows a[i] of op(A) and columns b[j] of op(B), K floats each,
// contiguous. Not inlined: the one body every element of C goes through.
__attribute__((noinline)) void tile(const float* const* a, const float* const* b, int K,
                                    float (&s)[kMR][kNR]) {
  v8 acc[kMR][kNR];
  for (int i = 0; i < kMR; ++i)
    for (int j = 0; j < kNR; ++j) acc[i][j] = v8{};
  const int full = K / kL * kL;
  for (int k = 0; k < full; k += kL) step<false>(acc, a, b, k, kL);
  if (full < K) step<true>(acc, a, b, full, K - full);
  for (int i = 0; i < kMR; ++i) reduce4(acc[i][0], acc[i][1], acc[i][2], acc[i][3], s[i]);
}

// Columns of C per task: the task's panel of op(B) (columns x K floats) stays within 256 KiB of
// L2. A function of K only.
int cols_per_task(int K) {
  const int fit = (256 * 1024 / int(sizeof(float))) / std::max(K, 1);
  return std::clamp(fit / kNR * kNR, kNR, 64 * kNR);
}

// dst row r (stride ldd) = column (first + r) of the K-row matrix src (row stride ld), for r in
// [0, count): a transpose, in 8x8 blocks.
void pack_columns(float* dst, int64_t ldd, const float* src, int64_t ld, int first, int count,
                  int K) {
  constexpr int kB = 8;
  for (int k0 = 0; k0 < K; k0 += kB) {
    const int kn = std::min(kB, K - k0);
    for (int r0 = 0; r0 < count; r0 += kB) {
      const int rn = std::min(kB, count - r0);
      if (kn == kB && rn == kB) {
        float t[kB][kB];
        for (int k = 0; k < kB; ++k)
          std::memcpy(t[k], src + (k0 + k) * ld + first + r0, sizeof t[k]);
        for (int r = 0; r < kB; ++r)
          for (int k = 0; k < kB; ++k) dst[(r0 + r) * ldd + k0 + k] = t[k][r];
      } else {
        for (int k = 0; k < kn; ++k)
          for (int r = 0; r < rn; ++r)
            dst[(r0 + r) * ldd + k0 + k] = src[(k0 + k) * ld + first + r0 + r];
      }
    }
  }
}

// A thread's packed rows of op(A) or columns of op(B), and which call, matrix and block they
// hold, so that the thread's next task reuses them when it needs the same ones.
struct Panel {
  std::vector<float> data;
  uint64_t call = 0;
  int64_t matrix = -1;
  int block = -1;
};
Panel& panel(int which) {
  thread_local Panel panels[2];
  return panels[which];
}
std::atomic<uint64_t> g_calls{0};  // tells one call's panels from the next's

}  // namespace

void gemm_invariant(bool tA, bool tB, int M, int N, int K, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc, int batch, int64_t sA,
                    int64_t sB, int64_t sC) {
  if (M <= 0 || N <= 0 || batch <= 0) return;
  const uint64_t call = ++g_calls;
  const int MB = kRowsPerTask, NB = cols_per_task(K);
  const int row_blocks = (M + MB - 1) / MB, col_blocks = (N + NB - 1) / NB;
  const int64_t tasks = int64_t(batch) * row_blocks * col_blocks;
  // Packed rows: 64-byte aligned, plus 16 floats so that rows do not share cache sets.
  const int64_t ldp = (int64_t(std::max(K, 1)) + 15) / 16 * 16 + 16;
  const bool par = tasks > 1 && 2.0 * M * N * K * batch >= 2.0 * 64 * 64 * 64;
  // Static: each thread takes consecutive tasks, so it packs a column block's panel once.
#pragma omp parallel for schedule(static) if (par)
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t b = task / (int64_t(row_blocks) * col_blocks);
    const int cb = int(task / row_blocks % col_blocks), rb = int(task % row_blocks);
    const int i0 = rb * MB, i1 = std::min(M, i0 + MB), j0 = cb * NB, j1 = std::min(N, j0 + NB);
    const float* a = A + b * sA;
    const float* bm = B + b * sB;
    float* c = C + b * sC;
    // Vectors [first, first + count) along k of a matrix stored `k_major` (vector v at column v)
    // or not (at row v): in place when rows already run along k, else packed once per block into
    // this thread's panel `which`. Returns where they are and their stride.
    auto along_k = [&](int which, const float* m, int ld, bool k_major, int first, int count,
                       int block) -> std::pair<const float*, int64_t> {
      if (!k_major) return {m + int64_t(first) * ld, ld};
      Panel& p = panel(which);
      if (p.call != call || p.matrix != b || p.block != block) {
        p.data.resize(size_t(count) * ldp);
        pack_columns(p.data.data(), ldp, m, ld, first, count, K);
        p.call = call, p.matrix = b, p.block = block;
      }
      return {p.data.data(), ldp};
    };
    // Rows of op(A) (op(A)[i][k] = A[k][i] when tA) and columns of op(B) (B[k][j] unless tB).
    const auto [a_rows, a_ld] = along_k(0, a, lda, tA, i0, i1 - i0, rb);
    const auto [b_cols, b_ld] = along_k(1, bm, ldb, !tB, j0, j1 - j0, cb);
    for (int i = i0; i < i1; i += kMR) {
      const int mr = std::min(kMR, i1 - i);
      const float* ap[kMR];
      for (int r = 0; r < kMR; ++r) ap[r] = a_rows + (i - i0 + std::min(r, mr - 1)) * a_ld;
      for (int j = j0; j < j1; j += kNR) {
        const int nr = std::min(kNR, j1 - j);
        const float* bp[kNR];
        for (int q = 0; q < kNR; ++q) bp[q] = b_cols + (j - j0 + std::min(q, nr - 1)) * b_ld;
        float s[kMR][kNR];
        tile(ap, bp, K, s);
        for (int r = 0; r < mr; ++r) {
          float* cr = c + int64_t(i + r) * ldc + j;
          for (int q = 0; q < nr; ++q) {
            const float v = alpha * s[r][q];
            cr[q] = beta == 0.0f ? v : v + beta * cr[q];
          }
        }
      }
    }
  }
}

}  // namespace tandem::cpu
