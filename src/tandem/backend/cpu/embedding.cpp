// Token embedding lookup and its scatter-add backward.
#include <algorithm>
#include <cstring>

#include "tandem/backend/cpu/cpu_backend.h"
#include "tandem/core/error.h"

namespace tandem {

namespace {
// Columns per task in the backward: a multiple of 16 floats so tasks never share a cache line.
constexpr int kColumnBlock = 256;
}  // namespace

// out(n,C) = table[ids[i]]; table(V,C) (V is not passed, so ids can only be checked for sign).
void CpuBackend::embedding_forward(float* out, const int32_t* ids, const float* table, int n,
                                   int C) {
  TANDEM_CHECK(n >= 0 && C >= 0, "[embedding_forward] bad sizes n={} C={}", n, C);
  for (int i = 0; i < n; ++i)
    TANDEM_CHECK(ids[i] >= 0, "[embedding_forward] ids[{}] = {} is negative", i, ids[i]);
#pragma omp parallel for schedule(static) if (int64_t(n) * C >= (1 << 15))
  for (int i = 0; i < n; ++i)
    std::memcpy(out + int64_t(i) * C, table + int64_t(ids[i]) * C, sizeof(float) * C);
}

// dtable(V,C) += dout(n,C) rows at ids(n). Repeated ids are summed in index order, whatever the
// thread count: threads split the columns, never the rows.
void CpuBackend::embedding_backward(float* dtable, const float* dout, const int32_t* ids, int n,
                                    int C) {
  TANDEM_CHECK(n >= 0 && C >= 0, "[embedding_backward] bad sizes n={} C={}", n, C);
  for (int i = 0; i < n; ++i)
    TANDEM_CHECK(ids[i] >= 0, "[embedding_backward] ids[{}] = {} is negative", i, ids[i]);
  const int blocks = (C + kColumnBlock - 1) / kColumnBlock;
#pragma omp parallel for schedule(static) if (int64_t(n) * C >= (1 << 15))
  for (int cb = 0; cb < blocks; ++cb) {
    const int c0 = cb * kColumnBlock, c1 = std::min(C, c0 + kColumnBlock);
    for (int i = 0; i < n; ++i) {
      float* dst = dtable + int64_t(ids[i]) * C;
      const float* src = dout + int64_t(i) * C;
      for (int c = c0; c < c1; ++c) dst[c] += src[c];
    }
  }
}

}  // namespace tandem
