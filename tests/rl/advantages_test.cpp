// Group advantages on hand-checked numbers: population std, eps, the three scalings, uniform
// groups.
#include "tandem/rl/advantages.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "support/expect_error.h"
#include "tandem/core/error.h"

namespace tandem {
namespace {

constexpr double kEps = 1e-6;

TEST(Advantages, GroupStdIsThePopulationStd) {
  // Group {0, 2}: mean 1, population std 1 (unbiased would be sqrt 2).
  const std::vector<double> r = {0, 2};
  const auto a = group_advantages(r, 2, AdvantageScaling::GroupStd);
  EXPECT_DOUBLE_EQ(a[0], -1 / (1 + kEps));
  EXPECT_DOUBLE_EQ(a[1], 1 / (1 + kEps));
}

TEST(Advantages, GroupStdOneRightOfFour) {
  const std::vector<double> r = {1, 0, 0, 0, 0.1, 1.1, 1.1, 0.1};
  const auto a = group_advantages(r, 4, AdvantageScaling::GroupStd);
  const double sd = std::sqrt(0.1875);  // population std of {1, 0, 0, 0}
  EXPECT_NEAR(a[0], 0.75 / (sd + kEps), 1e-12);
  EXPECT_NEAR(a[1], -0.25 / (sd + kEps), 1e-12);
  EXPECT_NEAR(a[4], -0.5 / (0.5 + kEps), 1e-12);
  EXPECT_NEAR(a[5], 0.5 / (0.5 + kEps), 1e-12);
  // A standardised group has zero mean and (up to eps) unit population variance.
  double sum = 0, sq = 0;
  for (int i = 0; i < 4; ++i) sum += a[i], sq += a[i] * a[i];
  EXPECT_NEAR(sum, 0, 1e-12);
  EXPECT_NEAR(sq / 4, 1, 1e-5);
}

TEST(Advantages, BatchStdDividesByTheStdOfAllRewards) {
  const std::vector<double> r = {0, 2, 4, 4};
  const auto a = group_advantages(r, 2, AdvantageScaling::BatchStd);
  const double sd = std::sqrt(2.75);  // rewards 0, 2, 4, 4: mean 2.5
  EXPECT_NEAR(a[0], -1 / (sd + kEps), 1e-12);
  EXPECT_NEAR(a[1], 1 / (sd + kEps), 1e-12);
  EXPECT_EQ(a[2], 0.0);
  EXPECT_EQ(a[3], 0.0);
}

TEST(Advantages, NoneOnlyCentres) {
  const std::vector<double> r = {1, 0, 0, 0};
  const auto a = group_advantages(r, 4, AdvantageScaling::None);
  EXPECT_DOUBLE_EQ(a[0], 0.75);
  EXPECT_DOUBLE_EQ(a[3], -0.25);
}

TEST(Advantages, UniformGroupGivesExactlyZero) {
  // 0.1 * 3 / 3 != 0.1 in floating point: without care the mean leaves 1e-17 / eps = 1e-11.
  const std::vector<double> r = {0.1, 0.1, 0.1, 1.1, 1.1, 1.1};
  for (auto s : {AdvantageScaling::GroupStd, AdvantageScaling::BatchStd, AdvantageScaling::None})
    for (double v : group_advantages(r, 3, s)) EXPECT_EQ(v, 0.0);
  // eps = 0 with no spread anywhere: still zeros, not NaN.
  for (double v : group_advantages(std::vector<double>{1, 1}, 2, AdvantageScaling::GroupStd, 0))
    EXPECT_EQ(v, 0.0);
}

TEST(Advantages, GroupOfOneHasNoAdvantage) {
  const std::vector<double> r = {3, 5};
  for (double v : group_advantages(r, 1, AdvantageScaling::GroupStd)) EXPECT_EQ(v, 0.0);
}

TEST(Advantages, UniformGroupsAreFound) {
  EXPECT_TRUE(group_is_uniform(std::vector<double>{1.1, 1.1, 1.1}));
  EXPECT_FALSE(group_is_uniform(std::vector<double>{1.1, 1.1, 0.1}));
  EXPECT_TRUE(group_is_uniform(std::vector<double>{}));
  const std::vector<double> r = {0, 0, 1, 0, 1, 1, 0.1, 1.1};
  EXPECT_EQ(informative_groups(r, 2), (std::vector<int>{1, 3}));
}

TEST(Advantages, BadInputsThrowNamingTheOp) {
  const std::vector<double> r = {0, 1, 2};
  EXPECT_THROW(group_advantages(r, 0, AdvantageScaling::None), Error);
  EXPECT_THROW(group_advantages(r, 2, AdvantageScaling::None), Error);
  EXPECT_THROW(group_advantages(r, 3, AdvantageScaling::None, -1), Error);
  const std::vector<double> bad = {0, std::numeric_limits<double>::quiet_NaN()};
  test::expect_error([&] { group_advantages(bad, 2, AdvantageScaling::GroupStd); },
                     {"[grpo_advantages]"});
}

}  // namespace
}  // namespace tandem
