// Q8_0 and Q4_0 against a float64 reference quantizer written here from the definitions in
// quantize.h (ggml's reference quantizers): the scale, the integer codes and the nibble packing
// must match, and the dequantized error must stay within the bound each format guarantees.
#include "tandem/io/gguf/quantize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "tandem/core/error.h"
#include "tandem/core/rng.h"
#include "tandem/io/half.h"

namespace tandem::gguf {
namespace {

// Random blocks with varied scales and shapes: normal, one outlier, all positive, tiny values,
// exact zeros, and the largest magnitude repeated with both signs.
std::vector<float> test_data(int blocks) {
  const Rng rng(5, 0);
  std::vector<float> x(size_t(blocks) * 32);
  for (int b = 0; b < blocks; ++b) {
    const double scale = std::pow(10.0, double(b % 9) - 4);  // 1e-4 .. 1e4
    for (int j = 0; j < 32; ++j) {
      const size_t i = size_t(b) * 32 + j;
      float v = float(scale * rng.normal(i));
      switch (b % 6) {
        case 1:
          if (j == 7) v *= 50;
          break;
        case 2:
          v = std::fabs(v);
          break;
        case 3:
          if (j % 3 == 0) v = 0;
          break;
        case 4:
          if (j == 3) v = float(scale);
          if (j == 20) v = -float(scale);
          if (j != 3 && j != 20) v = float(scale * 0.3 * std::tanh(rng.normal(i)));
          break;
        default:
          break;
      }
      x[i] = v;
    }
  }
  return x;
}

struct RefBlock {
  double d;               // the scale in float64
  std::vector<int> q;     // codes
  std::vector<bool> tie;  // the code sits within 1e-4 of a rounding boundary (float vs double)
};

RefBlock ref_q8_0(const float* x) {
  double amax = 0;
  for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(double(x[j])));
  RefBlock r{amax / 127, std::vector<int>(32), std::vector<bool>(32)};
  for (int j = 0; j < 32; ++j) {
    const double t = r.d ? x[j] / r.d : 0;
    r.q[j] = int(std::round(t));  // half away from zero, like roundf
    r.tie[j] = std::fabs(std::fabs(t - std::trunc(t)) - 0.5) < 1e-4;
  }
  return r;
}

RefBlock ref_q4_0(const float* x) {
  double amax = 0, m = 0;
  for (int j = 0; j < 32; ++j)
    if (std::fabs(double(x[j])) > amax) {
      amax = std::fabs(double(x[j]));
      m = x[j];
    }
  RefBlock r{m / -8, std::vector<int>(32), std::vector<bool>(32)};
  for (int j = 0; j < 32; ++j) {
    const double t = r.d ? x[j] / r.d + 8.5 : 8.5;
    r.q[j] = std::min(15, int(std::floor(t)));  // t > 0, so floor is the C cast's truncation
    r.tie[j] = std::fabs(t - std::round(t)) < 1e-4;
  }
  return r;
}

// |d - d16|, checked against what rounding to f16 allows: half an ulp, 2^-11 relative for
// normal f16 values and 2^-25 absolute in the subnormal range (tiny blocks get there).
double scale_error(double d, float d16) {
  const double err = std::fabs(d - double(d16));
  EXPECT_LE(err, std::max(std::ldexp(std::fabs(d), -11), 0x1p-25) * (1 + 1e-6)) << d;
  return err;
}

float stored_scale(const uint8_t* block) {
  uint16_t h;
  std::memcpy(&h, block, 2);
  return f16_to_f32(h);
}

TEST(Quantize, Q8_0MatchesTheReference) {
  const int blocks = 600;
  const std::vector<float> x = test_data(blocks);
  std::vector<uint8_t> q(size_t(blocks) * 34);
  quantize_q8_0(x.data(), int64_t(x.size()), q.data());
  std::vector<float> y(x.size());
  dequantize_q8_0(q.data(), int64_t(x.size()), y.data());
  int ties = 0;
  for (int b = 0; b < blocks; ++b) {
    const float* xb = x.data() + size_t(b) * 32;
    const uint8_t* qb = q.data() + size_t(b) * 34;
    const RefBlock r = ref_q8_0(xb);
    const float d16 = stored_scale(qb);
    // The stored scale is the float32 scale rounded to f16.
    EXPECT_EQ(d16, f16_to_f32(f32_to_f16(float(r.d)))) << b;
    const double dd = scale_error(r.d, d16);
    for (int j = 0; j < 32; ++j) {
      const int code = int8_t(qb[2 + j]);
      ASSERT_LE(std::abs(code), 127);
      if (r.tie[j]) {
        ties += code != r.q[j];
        ASSERT_LE(std::abs(code - r.q[j]), 1);
      } else {
        ASSERT_EQ(code, r.q[j]) << "block " << b << " element " << j;
      }
      ASSERT_EQ(y[size_t(b) * 32 + j], float(code) * d16);
      // |x - q d16| <= |x - q d| + |q| |d - d16| <= d/2 + 127 |d - d16|.
      ASSERT_LE(std::fabs(double(xb[j]) - y[size_t(b) * 32 + j]), r.d * (0.5 + 1e-6) + 127 * dd)
          << "block " << b << " element " << j;
    }
  }
  EXPECT_LE(ties, 2);  // float32 and float64 may round a near-half differently, rarely
}

TEST(Quantize, Q4_0MatchesTheReference) {
  const int blocks = 600;
  const std::vector<float> x = test_data(blocks);
  std::vector<uint8_t> q(size_t(blocks) * 18);
  quantize_q4_0(x.data(), int64_t(x.size()), q.data());
  std::vector<float> y(x.size());
  dequantize_q4_0(q.data(), int64_t(x.size()), y.data());
  int ties = 0;
  for (int b = 0; b < blocks; ++b) {
    const float* xb = x.data() + size_t(b) * 32;
    const uint8_t* qb = q.data() + size_t(b) * 18;
    const RefBlock r = ref_q4_0(xb);
    const float d16 = stored_scale(qb);
    EXPECT_EQ(d16, f16_to_f32(f32_to_f16(float(r.d)))) << b;
    const double dd = scale_error(r.d, d16);
    for (int j = 0; j < 32; ++j) {
      // Element j in the low nibble of byte j, element j + 16 in the high nibble of byte j - 16.
      const int code = j < 16 ? (qb[2 + j] & 0xf) : (qb[2 + j - 16] >> 4);
      if (r.tie[j]) {
        ties += code != r.q[j];
        ASSERT_LE(std::abs(code - r.q[j]), 1);
      } else {
        ASSERT_EQ(code, r.q[j]) << "block " << b << " element " << j;
      }
      ASSERT_EQ(y[size_t(b) * 32 + j], float(code - 8) * d16);
      // Codes cover [-8d, 7d]: the error is at most |d|/2 inside, |d| for a value of the largest
      // magnitude with the opposite sign (clamped from 8 to 7), plus |code - 8| |d - d16|.
      const double bound = (r.q[j] == 15 && xb[j] / r.d >= 7.5 ? 1.0 : 0.5) * std::fabs(r.d) +
                           8 * dd + 1e-6 * std::fabs(r.d);
      ASSERT_LE(std::fabs(double(xb[j]) - y[size_t(b) * 32 + j]), bound)
          << "block " << b << " element " << j;
    }
  }
  EXPECT_LE(ties, 2);
}

TEST(Quantize, HandPickedBlocks) {
  // Q4_0: the largest magnitude (-16, first) sets d = 2, so x = j - 16 codes as round(j / 2).
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = float(j - 16);
  uint8_t q4[18];
  quantize_q4_0(x.data(), 32, q4);
  EXPECT_EQ(stored_scale(q4), 2.0f);
  EXPECT_EQ(q4[2], 0x80);       // x0 = -16 -> 0, x16 = 0 -> 8
  EXPECT_EQ(q4[2 + 1], 0x91);   // x1 = -15 -> trunc(-7.5 + 8.5) = 1, x17 = 1 -> trunc(9) = 9
  EXPECT_EQ(q4[2 + 15], 0xf8);  // x15 = -1 -> trunc(8) = 8, x31 = 15 -> trunc(16) -> 15
  // Q8_0: amax 127 -> d = 1, codes are the values.
  for (int j = 0; j < 32; ++j) x[j] = float(j * 4 - 1);
  x[0] = -127;
  uint8_t q8[34];
  quantize_q8_0(x.data(), 32, q8);
  EXPECT_EQ(stored_scale(q8), 1.0f);
  EXPECT_EQ(int8_t(q8[2]), -127);
  EXPECT_EQ(int8_t(q8[2 + 31]), 123);
  // An all-zero block: scale 0, codes 0 (Q8_0) and 8 (Q4_0), decoded back to zeros.
  std::fill(x.begin(), x.end(), 0.0f);
  quantize_q8_0(x.data(), 32, q8);
  quantize_q4_0(x.data(), 32, q4);
  EXPECT_EQ(stored_scale(q8), 0.0f);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(q8[2 + j], 0);
  for (int j = 0; j < 16; ++j) EXPECT_EQ(q4[2 + j], 0x88);
  std::vector<float> y(32, 1.0f);
  dequantize_q4_0(q4, 32, y.data());
  for (const float v : y) EXPECT_EQ(v, 0.0f);
}

TEST(Quantize, NonFiniteInputDoesNotCrash) {
  std::vector<float> x(32, 1.0f);
  x[5] = std::numeric_limits<float>::quiet_NaN();
  x[6] = std::numeric_limits<float>::infinity();
  uint8_t q8[34], q4[18];
  quantize_q8_0(x.data(), 32, q8);  // the values are meaningless; the call must be defined
  quantize_q4_0(x.data(), 32, q4);
  EXPECT_THROW(quantize_q8_0(x.data(), 31, q8), Error);
}

}  // namespace
}  // namespace tandem::gguf
