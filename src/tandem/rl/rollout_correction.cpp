#include "tandem/rl/rollout_correction.h"

#include <algorithm>
#include <cmath>

#include "tandem/core/error.h"

namespace tandem {
namespace {

void check_inputs(std::span<const float> rollout_logp, std::span<const float> train_logp,
                  std::span<const uint8_t> mask, int N, int T) {
  TANDEM_CHECK(N >= 0 && T >= 0, "[rollout_correction] bad batch shape ({}, {})", N, T);
  const size_t n = size_t(N) * size_t(T);
  auto check_size = [&](size_t got, const char* what) {
    TANDEM_CHECK(got == n, "[rollout_correction] {} has {} entries, expected {} (N={}, T={})", what,
                 got, n, N, T);
  };
  check_size(rollout_logp.size(), "rollout_logp");
  check_size(train_logp.size(), "train_logp");
  check_size(mask.size(), "mask");
  for (size_t k = 0; k < n; ++k) {
    if (!mask[k]) continue;
    TANDEM_CHECK(std::isfinite(rollout_logp[k]) && std::isfinite(train_logp[k]),
                 "[rollout_correction] non-finite rollout_logp ({}) or train_logp ({}) at "
                 "completion {} token {}",
                 rollout_logp[k], train_logp[k], k / size_t(T), k % size_t(T));
  }
}

// log r_t = train_logp - rollout_logp, in double: exactly 0 when the two are bit-equal.
double log_ratio(std::span<const float> rollout_logp, std::span<const float> train_logp, size_t k) {
  return double(train_logp[k]) - double(rollout_logp[k]);
}

void validate(const CorrectionConfig& c) {
  if (!(std::isfinite(c.cap) && c.cap >= 1))
    config_fail("rollout correction: `cap` must be a finite number >= 1, got {}", c.cap);
  if (!(std::isfinite(c.low) && c.low > 0 && c.low < 1))
    config_fail("rollout correction: `low` must be in (0, 1), got {}", c.low);
  if (!(std::isfinite(c.high) && c.high > 1))
    config_fail("rollout correction: `high` must be a finite number > 1, got {}", c.high);
}

}  // namespace

MismatchStats measure_mismatch(std::span<const float> rollout_logp,
                               std::span<const float> train_logp, std::span<const uint8_t> mask,
                               int N, int T) {
  check_inputs(rollout_logp, train_logp, mask, N, T);
  MismatchStats s;
  double gap_sum = 0, k1_sum = 0, k3_sum = 0, rollout_sum = 0, train_sum = 0;
  int64_t beyond_2 = 0, beyond_1_25 = 0;
  for (size_t k = 0; k < mask.size(); ++k) {
    if (!mask[k]) continue;
    const double lr = rollout_logp[k], lt = train_logp[k], d = log_ratio(rollout_logp, train_logp, k);
    const double r = std::exp(d);
    const double gap = std::abs(std::exp(lr) - std::exp(lt));
    ++s.tokens;
    gap_sum += gap;
    s.max_abs_prob_diff = std::max(s.max_abs_prob_diff, gap);
    k1_sum += -d;
    k3_sum += std::expm1(d) - d;  // r - 1 - log r, without cancelling r - 1 for r near 1
    rollout_sum += lr;
    train_sum += lt;
    beyond_2 += r < 0.5 || r > 2.0;
    beyond_1_25 += r < 0.8 || r > 1.25;
  }
  if (s.tokens == 0) return s;
  const double n = double(s.tokens);
  s.mean_abs_prob_diff = gap_sum / n;
  s.kl_k1 = k1_sum / n;
  s.kl_k3 = k3_sum / n;
  s.rollout_ppl = std::exp(-rollout_sum / n);
  s.train_ppl = std::exp(-train_sum / n);
  s.frac_beyond_2x = double(beyond_2) / n;
  s.frac_beyond_1_25x = double(beyond_1_25) / n;
  return s;
}

std::string_view rollout_correction_name(RolloutCorrection mode) {
  switch (mode) {
    case RolloutCorrection::None:
      return "none";
    case RolloutCorrection::Tis:
      return "tis";
    case RolloutCorrection::Mis:
      return "mis";
    case RolloutCorrection::Mask:
      return "mask";
  }
  return "?";
}

RolloutCorrection parse_rollout_correction(std::string_view name) {
  for (RolloutCorrection m : {RolloutCorrection::None, RolloutCorrection::Tis,
                              RolloutCorrection::Mis, RolloutCorrection::Mask})
    if (name == rollout_correction_name(m)) return m;
  config_fail("unknown rollout correction '{}' (choices: none, tis, mis, mask)", name);
}

Correction apply_correction(std::span<const float> rollout_logp, std::span<const float> train_logp,
                            std::span<const uint8_t> mask, int N, int T,
                            const CorrectionConfig& config) {
  validate(config);
  check_inputs(rollout_logp, train_logp, mask, N, T);
  Correction out;
  out.weights.assign(mask.size(), 0.0f);
  out.mask.assign(mask.size(), 0);
  CorrectionStats& s = out.stats;
  const double low = config.low, high = config.high;
  for (int i = 0; i < N; ++i) {
    const size_t row = size_t(i) * size_t(T);
    int64_t counted = 0, kept = 0;
    double log_sum = 0;
    for (int t = 0; t < T; ++t) {
      const size_t k = row + size_t(t);
      if (!mask[k]) continue;
      ++counted;
      log_sum += log_ratio(rollout_logp, train_logp, k);
    }
    if (counted == 0) continue;
    // mis: one weight for the whole row, the geometric mean of its token ratios.
    const double g = std::exp(log_sum / double(counted));
    const bool row_kept = config.mode != RolloutCorrection::Mis || (g >= low && g <= high);
    for (int t = 0; t < T && row_kept; ++t) {
      const size_t k = row + size_t(t);
      if (!mask[k]) continue;
      const double r = std::exp(log_ratio(rollout_logp, train_logp, k));
      double w = 1.0;
      switch (config.mode) {
        case RolloutCorrection::None:
          break;
        case RolloutCorrection::Tis:
          w = std::min(r, config.cap);
          break;
        case RolloutCorrection::Mis:
          w = g;
          break;
        case RolloutCorrection::Mask:
          if (r < low || r > high) continue;
          break;
      }
      out.weights[k] = float(w);
      out.mask[k] = 1;
      ++kept;
    }
    s.tokens += counted;
    s.kept_tokens += kept;
    s.sequences += 1;
    s.masked_sequences += kept == 0;
  }
  if (s.tokens > 0) s.masked_fraction = double(s.tokens - s.kept_tokens) / double(s.tokens);
  if (s.kept_tokens > 0) {
    double sum = 0, sum_sq = 0;
    for (size_t k = 0; k < out.mask.size(); ++k) {
      if (!out.mask[k]) continue;
      const double w = out.weights[k];
      sum += w;
      sum_sq += w * w;
      s.max_weight = std::max(s.max_weight, w);
    }
    const double n = double(s.kept_tokens);
    s.mean_weight = sum / n;
    s.ess = sum_sq > 0 ? sum * sum / (n * sum_sq) : 0.0;
  }
  return out;
}

}  // namespace tandem
