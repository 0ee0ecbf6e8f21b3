// Global reductions: sum of squares (for the gradient norm) and the finiteness check.
#include <algorithm>
#include <cstring>
#include <vector>

#include "tandem/backend/cpu/cpu_backend.h"
#include "tandem/backend/cpu/vec.h"

namespace tandem {

namespace {
// Fixed chunk size: chunk sums are added in chunk order, so the result is the same for any
// thread count (and any backend that follows the same chunking could match it bit for bit).
constexpr size_t kChunk = size_t(1) << 16;
}  // namespace

double CpuBackend::sum_squares(const float* x, size_t n) {
  const size_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> partial(chunks);
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (size_t c = 0; c < chunks; ++c) {
    const size_t begin = c * kChunk;
    partial[c] = cpu::sumsq_d(x + begin, std::min(kChunk, n - begin));
  }
  double total = 0.0;
  for (double s : partial) total += s;
  return total;
}

// Tests the exponent bits (all ones = inf or NaN): integer work the compiler vectorises.
bool CpuBackend::all_finite(const float* x, size_t n) {
  const size_t chunks = (n + kChunk - 1) / kChunk;
  int bad = 0;
#pragma omp parallel for schedule(static) reduction(| : bad) if (chunks > 1)
  for (size_t c = 0; c < chunks; ++c) {
    const size_t begin = c * kChunk, end = std::min(n, begin + kChunk);
    uint32_t any = 0;
    for (size_t i = begin; i < end; ++i) {
      uint32_t bits;
      std::memcpy(&bits, x + i, 4);
      any |= uint32_t((bits & 0x7f800000u) == 0x7f800000u);
    }
    bad |= int(any);
  }
  return bad == 0;
}

}  // namespace tandem
