// Dense algebra: GEMM through OpenBLAS (a single row times W^T through gemv.cpp; in
// batch-invariant mode, everything through gemm_invariant.cpp), and y += x.
#include <cblas.h>

#include <algorithm>

#include "tandem/backend/cpu/cpu_backend.h"
#include "tandem/backend/cpu/gemm_invariant.h"
#include "tandem/backend/cpu/gemv.h"
#include "tandem/core/error.h"

namespace tandem {

void CpuBackend::gemm(bool tA, bool tB, int M, int N, int K, float alpha, const float* A, int lda,
                      const float* B, int ldb, float beta, float* C, int ldc, int batch, int64_t sA,
                      int64_t sB, int64_t sC) {
  TANDEM_CHECK(M >= 0 && N >= 0 && K >= 0 && batch >= 0,
               "[gemm] sizes must be non-negative (M={}, N={}, K={}, batch={})", M, N, K, batch);
  // Row-major leading dimensions: op(A) is MxK, so A is stored MxK (lda >= K) or KxM (lda >= M).
  TANDEM_CHECK(lda >= std::max(1, tA ? M : K), "[gemm] lda={} too small", lda);
  TANDEM_CHECK(ldb >= std::max(1, tB ? K : N), "[gemm] ldb={} too small", ldb);
  TANDEM_CHECK(ldc >= std::max(1, N), "[gemm] ldc={} too small (N={})", ldc, N);
  if (M == 0 || N == 0 || batch == 0) return;
  if (batch_invariant_)
    return cpu::gemm_invariant(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, batch, sA, sB,
                               sC);
  if (M == 1 && !tA && tB) {  // one token through a projection: see gemv.h
    for (int b = 0; b < batch; ++b)
      cpu::gemv_rows(N, K, alpha, A + b * sA, B + b * sB, ldb, beta, C + b * sC);
    return;
  }
  const auto ta = tA ? CblasTrans : CblasNoTrans;
  const auto tb = tB ? CblasTrans : CblasNoTrans;
  // One thread pool: OpenMP threads each run single-threaded OpenBLAS on a fixed panel of C.
  // Letting OpenBLAS start its own pool next to OpenMP's measured 2x slower on 2 cores in a
  // rmsnorm+GEMM loop (OpenMP threads spin after each region and steal the cores; libgomp reads
  // OMP_WAIT_POLICY at load time, so it cannot be set from here). Panels are cut by shape alone
  // (kPanel rows or columns along the longer side of C), never by thread count, so every element
  // comes from the same sgemm call shape whatever the number of threads.
  constexpr int kPanel = 256;
  const bool split_rows = M >= N;
  const int len = split_rows ? M : N;
  const int panels = (len + kPanel - 1) / kPanel;
  const int64_t tasks = int64_t(batch) * panels;
  const bool par = tasks > 1 && 2.0 * M * N * K >= 2.0 * 64 * 64 * 64;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t b = task / panels;
    const int p0 = int(task % panels) * kPanel, plen = std::min(kPanel, len - p0);
    const float* a = A + b * sA;
    const float* bb = B + b * sB;
    float* c = C + b * sC;
    if (split_rows) {
      a += tA ? p0 : int64_t(p0) * lda;
      c += int64_t(p0) * ldc;
      cblas_sgemm(CblasRowMajor, ta, tb, plen, N, K, alpha, a, lda, bb, ldb, beta, c, ldc);
    } else {
      bb += tB ? int64_t(p0) * ldb : p0;
      c += p0;
      cblas_sgemm(CblasRowMajor, ta, tb, M, plen, K, alpha, a, lda, bb, ldb, beta, c, ldc);
    }
  }
}

void CpuBackend::add(float* y, const float* x, size_t n) {
#pragma omp parallel for schedule(static) if (n >= (size_t(1) << 16))
  for (size_t i = 0; i < n; ++i) y[i] += x[i];
}

}  // namespace tandem
