// RMSNorm forward and backward.
#include <algorithm>
#include <cmath>
#include <vector>

#include "tandem/backend/cpu/cpu_backend.h"
#include "tandem/backend/cpu/vec.h"
#include "tandem/core/error.h"

namespace tandem {

namespace {
constexpr int kColumnBlock = 256;  // dw columns per task (multiple of 16: no false sharing)
}

// x(n,C), w(C) -> out(n,C), rstd(n). Each row is computed alone by one thread.
void CpuBackend::rmsnorm_forward(float* out, float* rstd, const float* x, const float* w, int n,
                                 int C, float eps) {
  TANDEM_CHECK(n >= 0 && C > 0, "[rmsnorm_forward] bad sizes n={} C={}", n, C);
#pragma omp parallel for schedule(static) if (int64_t(n) * C >= (1 << 14))
  for (int i = 0; i < n; ++i) {
    const float* xi = x + int64_t(i) * C;
    float* oi = out + int64_t(i) * C;
    // Mean square in double: C can be thousands and the value feeds every element of the row.
    const double ms = cpu::sumsq_d(xi, C) / C;
    const float r = float(1.0 / std::sqrt(ms + double(eps)));
    rstd[i] = r;
    for (int c = 0; c < C; ++c) oi[c] = xi[c] * r * w[c];
  }
}

// dout, x (n,C), w(C), rstd(n) -> dx(n,C) overwritten, dw(C) accumulated.
// With g = dout * w: dx = r * g - x * r^3 * mean(g * x);  dw += sum_rows dout * x * r.
void CpuBackend::rmsnorm_backward(float* dx, float* dw, const float* dout, const float* x,
                                  const float* w, const float* rstd, int n, int C) {
  TANDEM_CHECK(n >= 0 && C > 0, "[rmsnorm_backward] bad sizes n={} C={}", n, C);
  const bool par = int64_t(n) * C >= (1 << 14);
#pragma omp parallel for schedule(static) if (par)
  for (int i = 0; i < n; ++i) {
    const float* xi = x + int64_t(i) * C;
    const float* gi = dout + int64_t(i) * C;
    float* dxi = dx + int64_t(i) * C;
    double acc[cpu::kLanes] = {};
    int c = 0;
    for (; c + cpu::kLanes <= C; c += cpu::kLanes)
      for (int l = 0; l < cpu::kLanes; ++l)
        acc[l] += double(gi[c + l]) * double(w[c + l]) * double(xi[c + l]);
    for (int l = 0; c + l < C; ++l)
      acc[l] += double(gi[c + l]) * double(w[c + l]) * double(xi[c + l]);
    const double r = rstd[i];
    const float k = float(cpu::reduce_lanes(acc) / C * r * r * r);
    const float rf = rstd[i];
    for (int c2 = 0; c2 < C; ++c2) dxi[c2] = rf * gi[c2] * w[c2] - xi[c2] * k;
  }
  // dw: threads split the columns; rows are summed in order, in double.
  const int blocks = (C + kColumnBlock - 1) / kColumnBlock;
#pragma omp parallel if (par)
  {
    std::vector<double> acc(kColumnBlock);
#pragma omp for schedule(static)
    for (int cb = 0; cb < blocks; ++cb) {
      const int c0 = cb * kColumnBlock, len = std::min(C, c0 + kColumnBlock) - c0;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int i = 0; i < n; ++i) {
        const float* xi = x + int64_t(i) * C + c0;
        const float* gi = dout + int64_t(i) * C + c0;
        const double r = rstd[i];
        for (int c = 0; c < len; ++c) acc[c] += double(gi[c]) * double(xi[c]) * r;
      }
      for (int c = 0; c < len; ++c) dw[c0 + c] += float(acc[c]);
    }
  }
}

}  // namespace tandem
