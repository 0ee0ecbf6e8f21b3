// Rollout correction on hand-computed cases: the mismatch metrics, every correction mode, the
// edges (nothing counted, bit-equal inputs, equal weights) and the errors.
#include "tandem/rl/rollout_correction.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "support/expect_error.h"
#include "tandem/core/error.h"

namespace tandem {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Four rows of three positions; every log-probability and every difference is exact in float, so
// log r = train - rollout is exactly the d written beside each token. Masked positions hold NaN:
// they must never be read.
//   row 0: d = 0, -0.5, +1        (ratios 1, 0.61, 2.72)
//   row 1: d = 0.25, -, -         (1.28)
//   row 2: d = -1.5, 0, -         (0.22, 1)
//   row 3: nothing counted
struct Case {
  int N = 4, T = 3;
  std::vector<float> rollout = {-1, -1, -2, -0.5f, kNaN, kNaN, -0.5f, -1, kNaN, kNaN, kNaN, kNaN};
  std::vector<float> train = {-1, -1.5f, -1, -0.25f, kNaN, kNaN, -2, -1, kNaN, kNaN, kNaN, kNaN};
  std::vector<uint8_t> mask = {1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0};
  const std::vector<double> d = {0, -0.5, 1, 0.25, -1.5, 0};  // the counted tokens in order

  MismatchStats measure() const { return measure_mismatch(rollout, train, mask, N, T); }
  Correction correct(RolloutCorrection mode, double low = 0.5, double high = 2.0,
                     double cap = 2.0) const {
    CorrectionConfig c;
    c.mode = mode, c.low = low, c.high = high, c.cap = cap;
    return apply_correction(rollout, train, mask, N, T, c);
  }
};

double ess(const std::vector<double>& w) {
  double s = 0, s2 = 0;
  for (double x : w) s += x, s2 += x * x;
  return s * s / (double(w.size()) * s2);
}

TEST(RolloutMismatch, HandComputed) {
  const Case c;
  const MismatchStats s = c.measure();
  const double e = std::exp(1.0);
  EXPECT_EQ(s.tokens, 6);
  // k1 = mean(rollout - train) = mean(-d); k3 = mean(e^d - 1 - d).
  EXPECT_NEAR(s.kl_k1, 0.75 / 6, 1e-15);
  double k3 = 0;
  for (double d : c.d) k3 += std::exp(d) - 1 - d;
  EXPECT_NEAR(s.kl_k3, k3 / 6, 1e-15);
  EXPECT_GT(s.kl_k3, 0.0);
  // Rollout logp sum -6, train logp sum -6.75.
  EXPECT_NEAR(s.rollout_ppl, e, 1e-14);
  EXPECT_NEAR(s.train_ppl, std::exp(1.125), 1e-14);
  // |p_rollout - p_train| per token: 0, e^-1 - e^-1.5, e^-1 - e^-2, e^-0.25 - e^-0.5,
  // e^-0.5 - e^-2 (the largest), 0.
  const double gaps[] = {0,
                         std::exp(-1.0) - std::exp(-1.5),
                         std::exp(-1.0) - std::exp(-2.0),
                         std::exp(-0.25) - std::exp(-0.5),
                         std::exp(-0.5) - std::exp(-2.0),
                         0};
  double gap_sum = 0;
  for (double g : gaps) gap_sum += g;
  EXPECT_NEAR(s.mean_abs_prob_diff, gap_sum / 6, 1e-15);
  EXPECT_NEAR(s.max_abs_prob_diff, gaps[4], 1e-15);
  // Ratios 1, 0.61, 2.72, 1.28, 0.22, 1: beyond [0.5, 2]: 2.72 and 0.22; beyond [0.8, 1.25]:
  // also 0.61 and 1.28.
  EXPECT_EQ(s.frac_beyond_2x, 2.0 / 6);
  EXPECT_EQ(s.frac_beyond_1_25x, 4.0 / 6);
}

TEST(RolloutMismatch, BitEqualInputsGiveExactlyZero) {
  Case c;
  std::vector<float> logp(12);
  for (int k = 0; k < 12; ++k) logp[k] = float(-0.013 - 0.37 * std::abs(std::sin(1.3 * k)));
  c.mask.assign(12, 1);
  const MismatchStats s = measure_mismatch(logp, logp, c.mask, c.N, c.T);
  EXPECT_EQ(s.tokens, 12);
  EXPECT_EQ(s.kl_k1, 0.0);
  EXPECT_EQ(s.kl_k3, 0.0);
  EXPECT_EQ(s.mean_abs_prob_diff, 0.0);
  EXPECT_EQ(s.max_abs_prob_diff, 0.0);
  EXPECT_EQ(s.frac_beyond_2x, 0.0);
  EXPECT_EQ(s.frac_beyond_1_25x, 0.0);
  EXPECT_EQ(s.rollout_ppl, s.train_ppl);
  EXPECT_GT(s.rollout_ppl, 1.0);
  // And no correction changes anything: ratios are exactly 1.
  for (auto mode : {RolloutCorrection::Tis, RolloutCorrection::Mis, RolloutCorrection::Mask}) {
    CorrectionConfig cfg;
    cfg.mode = mode;
    const Correction r = apply_correction(logp, logp, c.mask, c.N, c.T, cfg);
    EXPECT_EQ(r.weights, std::vector<float>(12, 1.0f));
    EXPECT_EQ(r.mask, c.mask);
    EXPECT_EQ(r.stats.ess, 1.0);
  }
}

TEST(RolloutMismatch, NothingCountedGivesZeros) {
  Case c;
  c.mask.assign(12, 0);
  const MismatchStats s = c.measure();
  EXPECT_EQ(s.tokens, 0);
  EXPECT_EQ(s.kl_k1, 0.0);
  EXPECT_EQ(s.kl_k3, 0.0);
  EXPECT_EQ(s.rollout_ppl, 0.0);
  EXPECT_EQ(s.train_ppl, 0.0);
  EXPECT_EQ(s.frac_beyond_2x, 0.0);
  for (auto mode : {RolloutCorrection::None, RolloutCorrection::Tis, RolloutCorrection::Mis,
                    RolloutCorrection::Mask}) {
    const Correction r = c.correct(mode);
    EXPECT_EQ(r.weights, std::vector<float>(12, 0.0f));
    EXPECT_EQ(r.mask, c.mask);
    EXPECT_EQ(r.stats.tokens, 0);
    EXPECT_EQ(r.stats.kept_tokens, 0);
    EXPECT_EQ(r.stats.sequences, 0);
    EXPECT_EQ(r.stats.masked_sequences, 0);
    EXPECT_EQ(r.stats.masked_fraction, 0.0);
    EXPECT_EQ(r.stats.mean_weight, 0.0);
    EXPECT_EQ(r.stats.ess, 0.0);
  }
}

TEST(RolloutCorrection, NoneWeighsOneAndKeepsTheMask) {
  const Case c;
  const Correction r = c.correct(RolloutCorrection::None);
  EXPECT_EQ(r.mask, c.mask);
  for (size_t k = 0; k < r.weights.size(); ++k) EXPECT_EQ(r.weights[k], c.mask[k] ? 1.0f : 0.0f);
  EXPECT_EQ(r.stats.tokens, 6);
  EXPECT_EQ(r.stats.kept_tokens, 6);
  EXPECT_EQ(r.stats.sequences, 3);
  EXPECT_EQ(r.stats.masked_sequences, 0);
  EXPECT_EQ(r.stats.masked_fraction, 0.0);
  EXPECT_EQ(r.stats.mean_weight, 1.0);
  EXPECT_EQ(r.stats.max_weight, 1.0);
  EXPECT_EQ(r.stats.ess, 1.0);  // equal weights: exactly 1
}

TEST(RolloutCorrection, TisTruncatesTheTokenRatioAtCap) {
  const Case c;
  const Correction r = c.correct(RolloutCorrection::Tis);
  EXPECT_EQ(r.mask, c.mask);  // tis masks nothing
  // Ratios 1, e^-0.5, e (capped at 2), e^0.25, e^-1.5, 1.
  const std::vector<double> w = {1, std::exp(-0.5), 2, std::exp(0.25), std::exp(-1.5), 1};
  const int at[] = {0, 1, 2, 3, 6, 7};
  for (int j = 0; j < 6; ++j) EXPECT_EQ(r.weights[at[j]], float(w[j])) << j;
  for (int k : {4, 5, 8, 9, 10, 11}) EXPECT_EQ(r.weights[k], 0.0f);
  double sum = 0;
  for (double x : w) sum += x;
  EXPECT_NEAR(r.stats.mean_weight, sum / 6, 1e-7);
  EXPECT_EQ(r.stats.max_weight, 2.0);
  EXPECT_NEAR(r.stats.ess, ess(w), 1e-7);
  EXPECT_LT(r.stats.ess, 1.0);
  EXPECT_EQ(r.stats.masked_fraction, 0.0);
  // A higher cap lets e through.
  EXPECT_EQ(c.correct(RolloutCorrection::Tis, 0.5, 2.0, 3.0).weights[2], float(std::exp(1.0)));
}

TEST(RolloutCorrection, MisDropsSequencesByGeometricMeanRatio) {
  const Case c;
  const Correction r = c.correct(RolloutCorrection::Mis);
  // Row 0: g = exp((0 - 0.5 + 1) / 3) = e^(1/6), kept. Row 1: g = e^0.25, kept.
  // Row 2: g = exp(-1.5 / 2) = 0.47 < 0.5, dropped whole. Row 3: nothing to weigh.
  const float g0 = float(std::exp(1.0 / 6)), g1 = float(std::exp(0.25));
  const std::vector<float> weights = {g0, g0, g0, g1, 0, 0, 0, 0, 0, 0, 0, 0};
  const std::vector<uint8_t> mask = {1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(r.weights, weights);
  EXPECT_EQ(r.mask, mask);
  EXPECT_EQ(r.stats.tokens, 6);
  EXPECT_EQ(r.stats.kept_tokens, 4);
  EXPECT_EQ(r.stats.sequences, 3);
  EXPECT_EQ(r.stats.masked_sequences, 1);
  EXPECT_EQ(r.stats.masked_fraction, 2.0 / 6);
  EXPECT_NEAR(r.stats.mean_weight, (3.0 * g0 + g1) / 4, 1e-15);
  EXPECT_EQ(r.stats.max_weight, double(g1));
  EXPECT_NEAR(r.stats.ess, ess({g0, g0, g0, g1}), 1e-15);
  // A wider interval keeps row 2 (weight e^-0.75); a narrower one drops row 1 (1.28 > 1.25) too.
  const Correction wide = c.correct(RolloutCorrection::Mis, 0.4, 2.0);
  EXPECT_EQ(wide.weights[6], float(std::exp(-0.75)));
  EXPECT_EQ(wide.stats.masked_sequences, 0);
  const Correction narrow = c.correct(RolloutCorrection::Mis, 0.5, 1.25);
  EXPECT_EQ(narrow.stats.kept_tokens, 3);
  EXPECT_EQ(narrow.stats.masked_sequences, 2);
  // One sequence left: its weights are equal, so the ESS fraction is 1.
  EXPECT_DOUBLE_EQ(narrow.stats.ess, 1.0);
  EXPECT_EQ(narrow.stats.mean_weight, double(g0));
}

TEST(RolloutCorrection, MaskDropsTokensOutsideTheInterval) {
  const Case c;
  // [0.5, 2]: drop e (row 0) and e^-1.5 (row 2).
  const Correction r = c.correct(RolloutCorrection::Mask);
  const std::vector<uint8_t> mask = {1, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0};
  EXPECT_EQ(r.mask, mask);
  for (size_t k = 0; k < 12; ++k) EXPECT_EQ(r.weights[k], mask[k] ? 1.0f : 0.0f);
  EXPECT_EQ(r.stats.kept_tokens, 4);
  EXPECT_EQ(r.stats.masked_fraction, 2.0 / 6);
  EXPECT_EQ(r.stats.masked_sequences, 0);
  EXPECT_EQ(r.stats.ess, 1.0);
  EXPECT_EQ(r.stats.mean_weight, 1.0);
  // [0.5, 1.25] also drops row 1's only token: that row is masked whole.
  const Correction narrow = c.correct(RolloutCorrection::Mask, 0.5, 1.25);
  EXPECT_EQ(narrow.stats.kept_tokens, 3);
  EXPECT_EQ(narrow.stats.masked_sequences, 1);
  EXPECT_EQ(narrow.mask[3], 0);
}

TEST(RolloutCorrection, NamesRoundTripAndUnknownNamesListTheChoices) {
  for (auto mode : {RolloutCorrection::None, RolloutCorrection::Tis, RolloutCorrection::Mis,
                    RolloutCorrection::Mask})
    EXPECT_EQ(parse_rollout_correction(rollout_correction_name(mode)), mode);
  EXPECT_EQ(rollout_correction_name(RolloutCorrection::Mis), "mis");
  EXPECT_THROW(parse_rollout_correction("TIS"), ConfigError);
  test::expect_error([] { parse_rollout_correction("is"); },
                     {"'is'", "none, tis, mis, mask"});
}

TEST(RolloutCorrection, BadConfigNamesTheField) {
  const Case c;
  const double inf = std::numeric_limits<double>::infinity();
  auto with = [&](double low, double high, double cap) {
    return [=, &c] { c.correct(RolloutCorrection::Mask, low, high, cap); };
  };
  for (double cap : {0.0, 0.5, inf, std::nan("")}) {
    EXPECT_THROW(with(0.5, 2, cap)(), ConfigError);
    test::expect_error(with(0.5, 2, cap), {"'cap'"});
  }
  for (double low : {0.0, -0.5, 1.0, 1.5, std::nan("")}) test::expect_error(with(low, 2, 2), {"'low'"});
  for (double high : {1.0, 0.9, inf, std::nan("")}) test::expect_error(with(0.5, high, 2), {"'high'"});
  // The edges that are allowed.
  EXPECT_NO_THROW(with(1e-9, 1.0 + 1e-9, 1.0)());
}

TEST(RolloutCorrection, BadInputsThrowNamingTheOp) {
  Case c;
  CorrectionConfig cfg;
  std::vector<float> short_train(c.train.begin(), c.train.end() - 1);
  test::expect_error([&] { measure_mismatch(c.rollout, short_train, c.mask, c.N, c.T); },
                     {"[rollout_correction]", "train_logp"});
  test::expect_error([&] { apply_correction(c.rollout, c.train, c.mask, c.N, c.T + 1, cfg); },
                     {"[rollout_correction]", "rollout_logp"});
  c.train[1] = -std::numeric_limits<float>::infinity();
  test::expect_error([&] { c.measure(); }, {"[rollout_correction] non-finite", "completion 0 token 1"});
  test::expect_error([&] { c.correct(RolloutCorrection::Tis); }, {"non-finite"});
}

}  // namespace
}  // namespace tandem
