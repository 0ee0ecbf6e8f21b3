#pragma once
// Eight floats in one register (GCC/Clang vector extension), for the kernels that fix their
// order of operations by hand (gemm_invariant.cpp, gemv.cpp). Passed by reference only, so that a
// build without AVX has no vector ABI to warn about.
#include <cmath>

#if defined(__AVX__) && defined(__FMA__)
#include <immintrin.h>
#define TANDEM_CPU_AVX2_FMA 1
#endif

namespace tandem::cpu {

using v8 = float __attribute__((vector_size(8 * sizeof(float))));

// acc = a * b + acc lane by lane, one rounding each: vfmadd231ps, or std::fma lane by lane in a
// build without FMA (both correctly rounded, so the same bits).
inline void fma_lanes(v8& acc, const v8& a, const v8& b) {
#ifdef TANDEM_CPU_AVX2_FMA
  acc = v8(_mm256_fmadd_ps(__m256(a), __m256(b), __m256(acc)));
#else
  for (int l = 0; l < 8; ++l) acc[l] = std::fma(a[l], b[l], acc[l]);
#endif
}

}  // namespace tandem::cpu
