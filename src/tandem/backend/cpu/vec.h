#pragma once
// Small numeric building blocks shared by the CPU kernels. Each is written so that GCC/Clang
// vectorise it without -ffast-math, and so that its result does not depend on the alignment or
// position of the data: reductions keep kLanes explicit partial sums combined in a fixed tree,
// instead of letting the compiler choose how to split (and thus round) a sum.
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace tandem::cpu {

inline constexpr int kLanes = 16;  // one AVX-512 register of floats

// e^x in float, about 1 ulp, vectorisable (std::exp is a libm call the compiler will not
// vectorise without -ffast-math). Inputs below -87.3 (including -inf) give exactly 0, which the
// softmax kernels rely on for masked entries; inputs are clamped at 88 (all callers pass x <= 0
// or use it for a sigmoid where saturating is harmless). NaN stays NaN.
inline float exp_f(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;  // ln 2 split so n * kLn2Hi is exact
  constexpr float kLn2Lo = -2.12194440e-4f;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const bool underflow = x < -87.3f;
  float xc = x > 88.0f ? 88.0f : x;
  xc = xc < -87.3f ? -87.3f : xc;
  const float n = (xc * kLog2e + kRound) - kRound;
  const float r = (xc - n * kLn2Hi) - n * kLn2Lo;  // |r| <= ln2/2
  // Taylor series of e^r to degree 7: truncation below 5e-9 relative on |r| <= 0.347.
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  const float result = p * std::bit_cast<float>(bits);
  return underflow ? 0.0f : result;
}

// Combines kLanes partial sums in a fixed tree order.
template <typename T>
inline T reduce_lanes(T* acc) {
  for (int w = kLanes / 2; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0];
}

// sum a[i] * b[i], float accumulation in kLanes lanes; element i always lands in lane i % kLanes.
inline float dot_f(const float* a, const float* b, int n) {
  float acc[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += a[i + l] * b[i + l];
  for (int l = 0; i + l < n; ++l) acc[l] += a[i + l] * b[i + l];
  return reduce_lanes(acc);
}

// sum x[i]^2 in double lanes: for norms where float accumulation over many terms would drift.
inline double sumsq_d(const float* x, size_t n) {
  double acc[kLanes] = {};
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += double(x[i + l]) * double(x[i + l]);
  for (int l = 0; i + l < n; ++l) acc[l] += double(x[i + l]) * double(x[i + l]);
  return reduce_lanes(acc);
}

inline float max_f(const float* x, int n) {
  float m = -std::numeric_limits<float>::infinity();
  for (int i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;  // max is exact, so order cannot matter
  return m;
}

}  // namespace tandem::cpu
