#include "tandem/io/half.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace tandem {
namespace {

uint32_t bits(float f) {
  return std::bit_cast<uint32_t>(f);
}
float from_bits(uint32_t u) {
  return std::bit_cast<float>(u);
}
const float kInf = std::numeric_limits<float>::infinity();

TEST(Bf16, KnownValues) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_bf16(0.0f), 0x0000);
  EXPECT_EQ(f32_to_bf16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_bf16(3.14159265f), 0x4049);  // 0x40490fdb: low half below the midpoint
  EXPECT_EQ(f32_to_bf16(kInf), 0x7f80);
  EXPECT_EQ(f32_to_bf16(-kInf), 0xff80);
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0xc049), -3.140625f);
  EXPECT_EQ(bf16_to_f32(0xff80), -kInf);
}

TEST(Bf16, RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f808000)), 0x3f80);  // tie, kept bit even: down
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f818000)), 0x3f82);  // tie, kept bit odd: up
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f808001)), 0x3f81);  // above the tie: up
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f807fff)), 0x3f80);  // below the tie: down
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f80ffff)), 0x3f81);
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::max()), 0x7f80);  // rounds up to infinity
  EXPECT_EQ(f32_to_bf16(from_bits(0x00008000)), 0x0000);              // subnormal tie, even
  EXPECT_EQ(f32_to_bf16(from_bits(0x00018000)), 0x0002);
}

TEST(Bf16, NanStaysNan) {
  // Truncating 0x7f800001 would give 0x7f80, infinity: the payload lives in the dropped bits.
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(from_bits(0x7f800001)))));
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(f32_to_bf16(from_bits(0xffc00000)) & 0x8000, 0x8000);  // sign kept
}

// Every bf16 value survives bf16 -> f32 -> bf16; NaNs stay NaN.
TEST(Bf16, AllValuesRoundTrip) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = bf16_to_f32(uint16_t(h));
    if (std::isnan(f)) {
      ASSERT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(f)))) << h;
    } else {
      ASSERT_EQ(f32_to_bf16(f), h) << h;
    }
  }
}

// Oracle: the result is a nearest bf16 to x (checked in double against both neighbours), and on a
// tie it is the even one.
TEST(Bf16, NearestOnASweepOfFloats) {
  for (uint64_t u = 0; u < 0x7f800000u; u += 9973) {
    const float x = from_bits(uint32_t(u));
    const uint16_t h = f32_to_bf16(x);
    const double d = std::fabs(double(bf16_to_f32(h)) - x);
    if (h == 0x7f80) {  // overflow only above the midpoint of max bf16 and 2^128
      ASSERT_GE(u, 0x7f7f8000u);
      continue;
    }
    const double below = h > 0 ? std::fabs(double(bf16_to_f32(uint16_t(h - 1))) - x) : INFINITY;
    const double above = std::fabs(double(bf16_to_f32(uint16_t(h + 1))) - x);
    ASSERT_LE(d, below) << std::hex << u;
    ASSERT_LE(d, above) << std::hex << u;
    if (d == below || d == above) {
      ASSERT_EQ(h & 1, 0) << std::hex << u;
    }
  }
}

TEST(F16, KnownValues) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_f16(0.1f), 0x2e66);
  EXPECT_EQ(f32_to_f16(1.0f / 3.0f), 0x3555);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);  // largest finite
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x3555), 0.333251953125f);
  EXPECT_EQ(f16_to_f32(0xfc00), -kInf);
  EXPECT_EQ(f16_to_f32(0x7c00), kInf);
  EXPECT_TRUE(std::signbit(f16_to_f32(0x8000)));
}

TEST(F16, OverflowRoundsToInfinityAtTheMidpoint) {
  EXPECT_EQ(f32_to_f16(65519.996f), 0x7bff);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);  // tie between 65504 (odd) and 2^16: even side
  EXPECT_EQ(f32_to_f16(1e10f), 0x7c00);
  EXPECT_EQ(f32_to_f16(-1e10f), 0xfc00);
  EXPECT_EQ(f32_to_f16(kInf), 0x7c00);
  EXPECT_EQ(f32_to_f16(-kInf), 0xfc00);
}

TEST(F16, Subnormals) {
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -14)), 0x0400);     // smallest normal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);     // smallest subnormal
  EXPECT_EQ(f32_to_f16(std::ldexp(1023.0f, -24)), 0x03ff);  // largest subnormal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);     // tie between 0 and 2^-24: even, 0
  EXPECT_EQ(f32_to_f16(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -25)), 0x0002);     // 1.5 ulps: tie, even
  EXPECT_EQ(f32_to_f16(std::ldexp(5.0f, -25)), 0x0002);     // 2.5 ulps: tie, even
  EXPECT_EQ(f32_to_f16(std::ldexp(2047.0f, -25)), 0x0400);  // rounds up into the normals
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -30)), 0x0000);
  EXPECT_EQ(f32_to_f16(-std::ldexp(1.0f, -24)), 0x8001);
  EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::denorm_min()), 0x0000);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(f16_to_f32(0x03ff), std::ldexp(1023.0f, -24));
  EXPECT_EQ(f16_to_f32(0x8001), -std::ldexp(1.0f, -24));
}

TEST(F16, NanStaysNan) {
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7e00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7c01)));
  EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::quiet_NaN()) & 0x7e00, 0x7e00);
  EXPECT_EQ(f32_to_f16(from_bits(0x7f800001)) & 0x7e00, 0x7e00);  // payload only in low bits
  EXPECT_EQ(f32_to_f16(from_bits(0xffc00000)), 0xfe00);
}

TEST(F16, AllValuesRoundTrip) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = f16_to_f32(uint16_t(h));
    if (std::isnan(f)) {
      ASSERT_TRUE(std::isnan(f16_to_f32(f32_to_f16(f)))) << h;
    } else {
      ASSERT_EQ(f32_to_f16(f), h) << h;
    }
  }
}

TEST(F16, NearestOnASweepOfFloats) {
  for (uint64_t u = 0; u < 0x7f800000u; u += 7919) {
    const float x = from_bits(uint32_t(u));
    const uint16_t h = f32_to_f16(x);
    if (h == 0x7c00) {
      ASSERT_GE(x, 65520.0f);
      continue;
    }
    const double d = std::fabs(double(f16_to_f32(h)) - x);
    const double below = h > 0 ? std::fabs(double(f16_to_f32(uint16_t(h - 1))) - x) : INFINITY;
    // Above 0x7bff the next step would be 2^16 (what rounding compares against).
    const double above =
        std::fabs((h == 0x7bff ? 65536.0 : double(f16_to_f32(uint16_t(h + 1)))) - x);
    ASSERT_LE(d, below) << std::hex << u;
    ASSERT_LE(d, above) << std::hex << u;
    if (d == below || d == above) {
      ASSERT_EQ(h & 1, 0) << std::hex << u;
    }
  }
}

#ifdef __FLT16_MAX__
// The compiler's own IEEE half conversions are an independent oracle where available.
TEST(F16, MatchesCompilerFloat16) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const uint16_t h16 = uint16_t(h);
    const float ours = f16_to_f32(h16);
    const float theirs = float(std::bit_cast<_Float16>(h16));
    if (std::isnan(theirs)) {
      ASSERT_TRUE(std::isnan(ours));
    } else {
      ASSERT_EQ(bits(ours), bits(theirs)) << h;
    }
  }
  // Midpoints between neighbouring halves are exact floats: every tie, both parities.
  for (uint32_t h = 0; h < 0x7bff; ++h) {
    const float mid = (f16_to_f32(uint16_t(h)) + f16_to_f32(uint16_t(h + 1))) / 2;
    ASSERT_EQ(f32_to_f16(mid), std::bit_cast<uint16_t>(_Float16(mid))) << h;
    ASSERT_EQ(f32_to_f16(-mid), std::bit_cast<uint16_t>(_Float16(-mid))) << h;
  }
  for (uint64_t u = 0; u <= 0xffffffffu; u += 65521) {
    const float x = from_bits(uint32_t(u));
    if (std::isnan(x)) continue;
    ASSERT_EQ(f32_to_f16(x), std::bit_cast<uint16_t>(_Float16(x))) << std::hex << u;
  }
}
#endif

TEST(Half, ArrayForms) {
  const float src[4] = {1.0f, -0.5f, 65504.0f, 0.0f};
  uint16_t h[4];
  float back[4];
  f32_to_f16(src, h, 4);
  f16_to_f32(h, back, 4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(back[i], src[i]);
  f32_to_bf16(src, h, 4);
  bf16_to_f32(h, back, 4);
  EXPECT_EQ(back[0], 1.0f);
  EXPECT_EQ(back[1], -0.5f);
  EXPECT_EQ(back[2], 65536.0f);  // 65504 needs 11 significant bits; bf16 has 8
}

}  // namespace
}  // namespace tandem
