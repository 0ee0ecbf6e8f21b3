// The loss-spike rule (z-score of the log-loss) against values worked out by hand (see the
// comments), its minimum count, window and floor, and a state that survives a JSON round trip.
#include "tandem/train/spike_guard.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tandem/core/error.h"

namespace tandem {
namespace {

TEST(SpikeGuard, ZScoreOfAnAlternatingWindow) {
  SpikeGuard g({.window = 50, .min_count = 20, .z = 6.0, .floor = 0.01});
  for (int i = 0; i < 20; ++i) g.accept(i % 2 ? 1.2 : 1.0);
  // log-losses 0 and ln 1.2 = 0.18232: mean 0.09116, sample std 0.09116 * sqrt(20 / 19) = 0.09353.
  const double mean = 0.5 * std::log(1.2), sd = mean * std::sqrt(20.0 / 19.0);
  EXPECT_NEAR(g.typical(), std::sqrt(1.2), 1e-12);
  EXPECT_NEAR(g.z_score(2.0), (std::log(2.0) - mean) / sd, 1e-9);  // 6.44: a spike
  EXPECT_TRUE(g.is_spike(2.0));
  EXPECT_NEAR(g.z_score(1.6), (std::log(1.6) - mean) / sd, 1e-9);  // 4.05: not one
  EXPECT_FALSE(g.is_spike(1.6));
  EXPECT_FALSE(g.is_spike(0.01)) << "only upward jumps count";
  EXPECT_FALSE(g.is_spike(0.0)) << "a zero loss is clamped, not -infinity";
}

TEST(SpikeGuard, WaitsForTheMinimumCount) {
  SpikeGuard g({.window = 50, .min_count = 20, .z = 6.0});
  for (int i = 0; i < 19; ++i) g.accept(i % 2 ? 1.2 : 1.0);
  EXPECT_EQ(g.z_score(1000.0), 0.0);
  EXPECT_FALSE(g.is_spike(1000.0));
  g.accept(1.2);
  EXPECT_TRUE(g.is_spike(1000.0));
}

TEST(SpikeGuard, FlatCurveUsesTheFloor) {
  SpikeGuard g({.window = 50, .min_count = 20, .z = 6.0, .floor = 0.01});
  for (int i = 0; i < 30; ++i) g.accept(2.0);
  // std 0, floor 0.01 in log-loss: 5% above is z 5, 6.5% above is z 6.5.
  EXPECT_NEAR(g.z_score(2.0 * std::exp(0.05)), 5.0, 1e-9);
  EXPECT_FALSE(g.is_spike(2.0 * std::exp(0.05)));
  EXPECT_TRUE(g.is_spike(2.0 * std::exp(0.065)));
}

TEST(SpikeGuard, KeepsOnlyTheWindowAndIgnoresNonFinite) {
  SpikeGuard g({.window = 50, .min_count = 20, .z = 6.0});
  for (int i = 1; i <= 60; ++i) g.accept(double(i));  // keeps 11..60
  g.accept(NAN);
  g.accept(INFINITY);
  EXPECT_EQ(g.count(), 50u);
  // Geometric mean of 11..60: exp((ln 60! - ln 10!) / 50).
  EXPECT_NEAR(g.typical(), std::exp((std::lgamma(61.0) - std::lgamma(11.0)) / 50), 1e-9);
}

TEST(SpikeGuard, ZeroZTurnsItOff) {
  SpikeGuard g({.window = 50, .min_count = 2, .z = 0});
  g.accept(1.0), g.accept(1.0), g.accept(1.0);
  EXPECT_FALSE(g.is_spike(1e9));
}

TEST(SpikeGuard, JsonRoundTripIsExact) {
  SpikeGuard a;
  for (int i = 0; i < 37; ++i) a.accept(std::exp(-0.01 * i) + 1.0 / 3.0 + 1e-17 * i);
  SpikeGuard b;
  b.from_json(nlohmann::json::parse(a.to_json().dump()));
  EXPECT_EQ(b.count(), a.count());
  EXPECT_EQ(b.typical(), a.typical());
  EXPECT_EQ(b.z_score(1.7), a.z_score(1.7));
  EXPECT_THROW(b.from_json(nlohmann::json::parse(R"({"a": 1})")), Error);
  EXPECT_THROW(b.from_json(nlohmann::json::parse(R"([1, "x"])")), Error);
}

}  // namespace
}  // namespace tandem
