#include "tandem/core/rng.h"

#include <gtest/gtest.h>

namespace tandem {

// Known-answer vectors from the Random123 distribution's kat_vectors for philox4x32_10.
TEST(Philox, KnownAnswers) {
  auto zero = philox4x32({0, 0, 0, 0}, {0, 0});
  EXPECT_EQ(zero, (std::array<uint32_t, 4>{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
  auto ones = philox4x32({~0u, ~0u, ~0u, ~0u}, {~0u, ~0u});
  EXPECT_EQ(ones, (std::array<uint32_t, 4>{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
}

TEST(Rng, UniformAndNormalMoments) {
  Rng rng(42, 7);
  double su = 0, sn = 0, sn2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const float u = rng.uniform(i);
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    su += u;
    const float z = rng.normal(i);
    sn += z, sn2 += double(z) * z;
  }
  EXPECT_NEAR(su / n, 0.5, 0.005);
  EXPECT_NEAR(sn / n, 0.0, 0.01);
  EXPECT_NEAR(sn2 / n, 1.0, 0.02);
}

TEST(Rng, StreamsDiffer) {
  EXPECT_NE(Rng(1, 0).block(0), Rng(1, 1).block(0));
  EXPECT_NE(Rng(1, 0).block(0), Rng(2, 0).block(0));
  EXPECT_EQ(Rng(3, 4).block(5), Rng(3, 4).block(5));
}

}  // namespace tandem
