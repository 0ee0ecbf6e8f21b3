// The GRPO loss on hand-checked cases: each option's effect, the clip's zero-gradient regions,
// masks, micro-batching, rollout-correction weights, and the analytic gradient against finite
// differences.
#include "tandem/rl/grpo_loss.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "support/expect_error.h"
#include "tandem/core/error.h"

namespace tandem {
namespace {

// Owns the arrays a GrpoBatch views.
struct Data {
  int N = 0, T = 0;
  std::vector<float> logp, old_logp, ref_logp;
  std::vector<double> adv;
  std::vector<uint8_t> mask, truncated;
  double global_count = 0;
  std::vector<float> weights;

  Data(int n, int t) : N(n), T(t), logp(n * t, -1.0f), old_logp(n * t, -1.0f), adv(n, 0.0) {
    mask.assign(n * t, 0);
  }
  // Row i counts its first len positions.
  void lengths(std::vector<int> lens) {
    for (int i = 0; i < N; ++i)
      for (int t = 0; t < T; ++t) mask[i * T + t] = t < lens[i];
  }
  void ratio(int i, int t, double r) { old_logp[i * T + t] = logp[i * T + t] - float(std::log(r)); }
  GrpoBatch batch() const {
    return GrpoBatch{N, T, logp, old_logp, ref_logp, adv, mask, truncated, global_count, weights};
  }
};

GrpoResult run(const Data& d, GrpoConfig c = {}) {
  return grpo_loss(d.batch(), c);
}

TEST(GrpoLoss, RatiosOneGiveMinusMeanAdvantageOverTokens) {
  Data d(3, 4);
  d.lengths({4, 2, 1});
  d.adv = {1.0, -0.5, 2.0};
  const GrpoResult r = run(d);
  const double total = 7;
  EXPECT_NEAR(r.loss, -(4 * 1.0 + 2 * -0.5 + 1 * 2.0) / total, 1e-12);
  EXPECT_NEAR(r.dlogp[0], -1.0 / total, 1e-12);
  EXPECT_NEAR(r.dlogp[4], 0.5 / total, 1e-12);
  EXPECT_NEAR(r.dlogp[8], -2.0 / total, 1e-12);
  EXPECT_EQ(r.stats.tokens, 7);
  EXPECT_EQ(r.stats.sequences, 3);
  EXPECT_NEAR(r.stats.mean_ratio, 1.0, 1e-12);
  EXPECT_EQ(r.stats.clip_total, 0.0);
}

TEST(GrpoLoss, ClipRegionsHaveZeroGradientAndAreCounted) {
  // Row 0 A > 0, row 1 A < 0; ratios 0.5 (below 0.8), 1.1 (inside), 1.5 (above 1.2).
  Data d(2, 3);
  d.lengths({3, 3});
  d.adv = {1.0, -1.0};
  const double ratios[3] = {0.5, 1.1, 1.5};
  for (int i = 0; i < 2; ++i)
    for (int t = 0; t < 3; ++t) d.ratio(i, t, ratios[t]);
  const GrpoResult r = run(d);
  const double w = 1.0 / 6;
  auto ratio_at = [&](int k) { return std::exp(double(d.logp[k]) - double(d.old_logp[k])); };
  // A > 0: low side keeps the gradient (the ratio may rise back), high side is clipped.
  EXPECT_NEAR(r.dlogp[0], -w * ratio_at(0), 1e-12);
  EXPECT_NEAR(r.dlogp[1], -w * ratio_at(1), 1e-12);
  EXPECT_EQ(r.dlogp[2], 0.0);
  // A < 0: low side is clipped, high side keeps the gradient.
  EXPECT_EQ(r.dlogp[3], 0.0);
  EXPECT_NEAR(r.dlogp[4], w * ratio_at(4), 1e-12);
  EXPECT_NEAR(r.dlogp[5], w * ratio_at(5), 1e-12);
  EXPECT_NEAR(r.stats.clip_low, 1.0 / 6, 1e-15);
  EXPECT_NEAR(r.stats.clip_high, 1.0 / 6, 1e-15);
  EXPECT_NEAR(r.stats.clip_total, 2.0 / 6, 1e-15);
  // The loss takes the clipped values where clipped.
  const double expect = -w * (ratio_at(0) + ratio_at(1) + 1.2 - 0.8 - ratio_at(4) - ratio_at(5));
  EXPECT_NEAR(r.loss, expect, 1e-12);
}

TEST(GrpoLoss, ClipHigherLetsPositiveTokensRiseFurther) {
  Data d(1, 1);
  d.lengths({1});
  d.adv = {1.0};
  d.ratio(0, 0, 1.25);
  EXPECT_EQ(run(d).dlogp[0], 0.0);  // clipped at 1.2
  GrpoConfig c;
  c.epsilon_high = 0.28;
  const GrpoResult r = run(d, c);
  EXPECT_LT(r.dlogp[0], 0.0);  // 1.25 < 1.28: still pushed up
  EXPECT_EQ(r.stats.clip_high, 0.0);
}

TEST(GrpoLoss, BetaZeroIgnoresTheReference) {
  Data d(2, 3);
  d.lengths({3, 2});
  d.adv = {0.7, -0.3};
  d.ratio(0, 1, 1.4);
  d.ratio(1, 0, 0.6);
  const GrpoResult without = run(d);
  d.ref_logp.assign(6, -3.0f);
  const GrpoResult with = run(d);
  EXPECT_EQ(without.loss, with.loss);
  EXPECT_EQ(without.dlogp, with.dlogp);
  EXPECT_EQ(without.stats.mean_kl, 0.0);
  EXPECT_GT(with.stats.mean_kl, 0.0);  // still reported for the logs
}

TEST(GrpoLoss, KlPenaltyIsK3) {
  Data d(1, 1);
  d.lengths({1});
  d.ref_logp = {-1.5f};  // logp = -1: d = ref - logp = -0.5
  GrpoConfig c;
  c.beta = 0.1;
  const GrpoResult r = run(d, c);
  const double dd = -0.5, kl = std::exp(dd) - dd - 1;
  EXPECT_NEAR(r.loss, 0.1 * kl, 1e-12);  // A = 0: only the penalty
  EXPECT_NEAR(r.dlogp[0], 0.1 * (1 - std::exp(dd)), 1e-12);
  EXPECT_NEAR(r.stats.mean_kl, kl, 1e-12);
  d.ref_logp.clear();
  EXPECT_THROW(run(d, c), Error);  // beta > 0 needs a reference
}

TEST(GrpoLoss, SequenceAndTokenAggregationDifferOnlyWhenLengthsDiffer) {
  Data d(2, 4);
  d.adv = {1.0, -1.0};
  d.lengths({4, 4});
  GrpoConfig seq;
  seq.aggregation = LossAggregation::Sequence;
  EXPECT_NEAR(run(d).loss, run(d, seq).loss, 1e-15);
  d.lengths({4, 1});
  // Token: -(4 - 1) / 5. Sequence: -(1 - 1) / 2.
  EXPECT_NEAR(run(d).loss, -3.0 / 5, 1e-12);
  EXPECT_NEAR(run(d, seq).loss, 0.0, 1e-12);
  // Sequence weights a token by 1 / (len * sequences).
  const GrpoResult r = run(d, seq);
  EXPECT_NEAR(r.dlogp[0], -1.0 / (4 * 2), 1e-12);
  EXPECT_NEAR(r.dlogp[4], 1.0 / (1 * 2), 1e-12);
}

TEST(GrpoLoss, DrGrpoDividesByAConstant) {
  Data d(2, 4);
  d.adv = {1.0, 0.5};
  GrpoConfig c;
  c.aggregation = LossAggregation::DrGrpo;
  c.max_completion_length = 10;
  d.lengths({4, 1});
  EXPECT_NEAR(run(d, c).loss, -(4 * 1.0 + 0.5) / (10 * 2), 1e-12);
  d.lengths({2, 3});  // different tokens, the same per-token weight
  const GrpoResult r = run(d, c);
  EXPECT_NEAR(r.loss, -(2 * 1.0 + 3 * 0.5) / (10 * 2), 1e-12);
  EXPECT_NEAR(r.dlogp[0], -1.0 / 20, 1e-12);
  c.max_completion_length = 0;
  EXPECT_THROW(run(d, c), Error);
}

TEST(GrpoLoss, MaskedTokensGetZeroGradientAndAreNeverRead) {
  Data d(2, 5);
  d.lengths({3, 5});
  d.mask[1] = 0;  // a hole inside a row, too
  d.adv = {1.0, -2.0};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int k = 0; k < 10; ++k)
    if (!d.mask[k]) d.logp[k] = d.old_logp[k] = nan;
  GrpoConfig c;
  for (auto agg : {LossAggregation::Token, LossAggregation::Sequence, LossAggregation::DrGrpo}) {
    c.aggregation = agg;
    c.max_completion_length = 5;
    const GrpoResult r = run(d, c);
    EXPECT_TRUE(std::isfinite(r.loss));
    for (int k = 0; k < 10; ++k) {
      if (!d.mask[k]) {
        EXPECT_EQ(r.dlogp[k], 0.0) << k;
      }
    }
  }
  EXPECT_EQ(run(d).stats.tokens, 7);
}

TEST(GrpoLoss, TruncatedCompletionsCanBeMaskedWhole) {
  Data d(2, 3);
  d.lengths({3, 3});
  d.adv = {1.0, -1.0};
  d.truncated = {0, 1};
  const GrpoResult kept = run(d);
  EXPECT_EQ(kept.stats.tokens, 6);
  EXPECT_NEAR(kept.loss, 0.0, 1e-15);
  GrpoConfig c;
  c.mask_truncated = true;
  const GrpoResult dropped = run(d, c);
  EXPECT_EQ(dropped.stats.tokens, 3);
  EXPECT_EQ(dropped.stats.sequences, 1);
  EXPECT_NEAR(dropped.loss, -1.0, 1e-12);
  for (int t = 3; t < 6; ++t) EXPECT_EQ(dropped.dlogp[t], 0.0);
}

TEST(GrpoLoss, NothingCountedGivesZero) {
  Data d(2, 3);
  d.adv = {1.0, -1.0};
  for (auto agg : {LossAggregation::Token, LossAggregation::Sequence}) {
    GrpoConfig c;
    c.aggregation = agg;
    const GrpoResult r = run(d, c);
    EXPECT_EQ(r.loss, 0.0);
    EXPECT_EQ(r.stats.tokens, 0);
    EXPECT_EQ(r.stats.mean_ratio, 0.0);
  }
}

// A batch with ratios on both sides of the clip range, ragged lengths and a reference.
Data random_data() {
  Data d(4, 6);
  d.lengths({6, 3, 5, 1});
  d.adv = {1.3, -0.7, 0.0, -1.9};
  d.ref_logp.resize(24);
  for (int k = 0; k < 24; ++k) {
    d.logp[k] = float(-0.2 - 0.13 * (k % 7));
    d.old_logp[k] = d.logp[k] + float(0.45 * std::sin(1.7 * k));  // ratios ~0.64..1.57
    d.ref_logp[k] = d.logp[k] + float(0.3 * std::cos(0.9 * k));
  }
  return d;
}

TEST(GrpoLoss, MicroBatchesSumToTheWholeBatch) {
  const Data whole = random_data();
  for (auto agg : {LossAggregation::Token, LossAggregation::Sequence, LossAggregation::DrGrpo}) {
    GrpoConfig c;
    c.aggregation = agg;
    c.beta = 0.05;
    c.max_completion_length = 6;
    const GrpoResult full = run(whole, c);
    const double count = agg == LossAggregation::Token      ? double(full.stats.tokens)
                         : agg == LossAggregation::Sequence ? double(full.stats.sequences)
                                                            : 4.0;
    double loss = 0;
    for (int half = 0; half < 2; ++half) {
      Data part(2, 6);
      auto slice = [&](const auto& v, size_t per) {
        using V = std::decay_t<decltype(v)>;
        return V(v.begin() + half * 2 * per, v.begin() + (half + 1) * 2 * per);
      };
      part.logp = slice(whole.logp, 6);
      part.old_logp = slice(whole.old_logp, 6);
      part.ref_logp = slice(whole.ref_logp, 6);
      part.mask = slice(whole.mask, 6);
      part.adv = slice(whole.adv, 1);
      part.global_count = count;
      const GrpoResult r = run(part, c);
      loss += r.loss;
      for (int k = 0; k < 12; ++k) EXPECT_NEAR(r.dlogp[k], full.dlogp[half * 12 + k], 1e-15);
    }
    EXPECT_NEAR(loss, full.loss, 1e-14);
  }
}

// dloss/dlogp against central differences of the loss, for every aggregation (with KL and
// clip-higher on), over the 24 positions of `d`.
void expect_gradient_matches_finite_differences(Data d) {
  for (auto agg : {LossAggregation::Token, LossAggregation::Sequence, LossAggregation::DrGrpo}) {
    GrpoConfig c;
    c.aggregation = agg;
    c.beta = 0.04;
    c.epsilon_high = 0.28;
    c.max_completion_length = 8;
    const GrpoResult r = run(d, c);
    for (int k = 0; k < 24; ++k) {
      const float h = 1e-3f, x = d.logp[k];
      d.logp[k] = x + h;
      const double up = run(d, c).loss;
      d.logp[k] = x - h;
      const double down = run(d, c).loss;
      d.logp[k] = x;
      const double step = double(x + h) - double(x - h);
      EXPECT_NEAR(r.dlogp[k], (up - down) / step, 1e-6) << "token " << k;
    }
  }
}

TEST(GrpoLoss, GradientMatchesFiniteDifferences) {
  expect_gradient_matches_finite_differences(random_data());
}

TEST(GrpoLoss, UnitWeightsAreBitIdenticalToNone) {
  Data d = random_data();
  for (auto agg : {LossAggregation::Token, LossAggregation::Sequence, LossAggregation::DrGrpo}) {
    GrpoConfig c;
    c.aggregation = agg;
    c.beta = 0.04;
    c.epsilon_high = 0.28;
    c.max_completion_length = 8;
    d.weights.clear();
    const GrpoResult none = run(d, c);
    d.weights.assign(24, 1.0f);
    const GrpoResult ones = run(d, c);
    EXPECT_EQ(none.loss, ones.loss);
    EXPECT_EQ(none.dlogp, ones.dlogp);
    EXPECT_EQ(none.stats.clip_total, ones.stats.clip_total);
    EXPECT_EQ(none.stats.mean_ratio, ones.stats.mean_ratio);
  }
}

TEST(GrpoLoss, WeightsScaleThePolicyGradientTermNotTheKlPenalty) {
  // Two tokens of one row, ratios 1 and 1.1 (inside the clip range), A = 0.5, a reference.
  Data d(1, 2);
  d.lengths({2});
  d.adv = {0.5};
  d.ratio(0, 1, 1.1);
  d.ref_logp = {-1.5f, -0.5f};  // logp = -1: d = ref - logp = -0.5, +0.5
  d.weights = {0.25f, 3.0f};
  GrpoConfig c;
  c.beta = 0.1;
  const GrpoResult r = run(d, c);
  const double r1 = std::exp(double(d.logp[1]) - double(d.old_logp[1]));
  auto kl = [](double x) { return std::exp(x) - x - 1; };
  // Token aggregation over 2 tokens.
  EXPECT_NEAR(r.loss, 0.5 * (-0.25 * 0.5 + 0.1 * kl(-0.5) - 3.0 * r1 * 0.5 + 0.1 * kl(0.5)), 1e-12);
  EXPECT_NEAR(r.dlogp[0], 0.5 * (-0.25 * 0.5 + 0.1 * (1 - std::exp(-0.5))), 1e-12);
  EXPECT_NEAR(r.dlogp[1], 0.5 * (-3.0 * 0.5 * r1 + 0.1 * (1 - std::exp(0.5))), 1e-12);
  // The diagnostics stay unweighted.
  EXPECT_NEAR(r.stats.mean_ratio, (1 + r1) / 2, 1e-12);
  EXPECT_NEAR(r.stats.mean_kl, (kl(-0.5) + kl(0.5)) / 2, 1e-12);
}

TEST(GrpoLoss, AZeroWeightStillCountsInTheDenominatorTheMaskDoesNot) {
  Data d(1, 2);
  d.lengths({2});
  d.adv = {1.0};
  d.weights = {0.0f, 1.0f};
  const GrpoResult weighted = run(d);
  EXPECT_NEAR(weighted.loss, -0.5, 1e-15);
  EXPECT_EQ(weighted.dlogp[0], 0.0);
  EXPECT_EQ(weighted.stats.tokens, 2);
  d.mask[0] = 0;  // what a rollout correction that drops the token passes
  const GrpoResult masked = run(d);
  EXPECT_NEAR(masked.loss, -1.0, 1e-15);
  EXPECT_EQ(masked.stats.tokens, 1);
}

TEST(GrpoLoss, WeightedGradientMatchesFiniteDifferences) {
  Data d = random_data();
  d.weights.resize(24);
  for (int k = 0; k < 24; ++k) d.weights[k] = float(0.3 + 1.4 * std::abs(std::cos(2.1 * k)));
  expect_gradient_matches_finite_differences(d);
}

TEST(GrpoLoss, BadWeightsThrow) {
  Data d(1, 2);
  d.lengths({1});
  d.adv = {1.0};
  d.weights = {1.0f};
  test::expect_error([&] { run(d); }, {"[grpo] weights"});
  d.weights = {-0.5f, 1.0f};
  test::expect_error([&] { run(d); }, {"[grpo] weight at completion 0 token 0"});
  d.weights = {std::numeric_limits<float>::quiet_NaN(), 1.0f};
  EXPECT_THROW(run(d), Error);
  d.weights = {1.0f, -1.0f};  // not counted: never read
  EXPECT_NO_THROW(run(d));
}

TEST(GrpoLoss, DnllIsMinusTheLogpGradient) {
  const std::vector<double> g = {0.5, -0.25, 0.0};
  EXPECT_EQ(to_dnll(g), (std::vector<float>{-0.5f, 0.25f, -0.0f}));
}

TEST(GrpoLoss, BadInputsThrowNamingTheOp) {
  Data d(2, 3);
  d.lengths({3, 3});
  d.adv = {1.0};
  test::expect_error([&] { run(d); }, {"[grpo] advantages"});
  d.adv = {1.0, 0.0};
  GrpoConfig c;
  c.epsilon = -0.1;
  EXPECT_THROW(run(d, c), Error);
  d.logp[0] = std::numeric_limits<float>::infinity();
  EXPECT_THROW(run(d), Error);
}

}  // namespace
}  // namespace tandem
