#pragma once
// Rollout/trainer mismatch: the completions a GRPO step learns from may be sampled by another
// engine than the trainer's (a server in bf16 or q4_0, another chip), so each sampled token's
// log-probability under the sampler (rollout_logp) differs from the one the trainer recomputes
// with the same weights (train_logp, the "old" policy of the update). The policy gradient is then
// off-policy. This file measures the gap and corrects for it with importance weights built from
// the token ratio
//
//     r_t = p_train / p_rollout = exp(train_logp - rollout_logp)
//
// as verl's rollout correction and Yao et al. (2025), "Your Efficient RL Framework Secretly Brings
// You Off-Policy RL Training". Pure functions on host arrays in GrpoBatch's layout: N rows of T
// positions, row-major, a position counts when mask != 0. Everything is computed in double.
// The definitions, the modes and the defaults with their reasons: docs/grpo.md, "Rollout
// correction".
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace tandem {

// Over the counted tokens; every field 0 when nothing counts.
struct MismatchStats {
  int64_t tokens = 0;            // counted tokens
  double mean_abs_prob_diff = 0;  // mean |p_rollout - p_train| (probabilities, exp of logp)
  double max_abs_prob_diff = 0;   // max  |p_rollout - p_train|
  // Two estimates of KL(rollout || train) from tokens sampled by the rollout policy:
  double kl_k1 = 0;  // mean(rollout_logp - train_logp); unbiased, may come out negative
  double kl_k3 = 0;  // mean(r - 1 - log r); unbiased (E_rollout[r] = 1), every term >= 0
  double rollout_ppl = 0;  // exp(-mean rollout_logp)
  double train_ppl = 0;    // exp(-mean train_logp)
  double frac_beyond_2x = 0;     // fraction of tokens with r < 0.5 or r > 2
  double frac_beyond_1_25x = 0;  // fraction of tokens with r < 0.8 or r > 1.25
};

// Throws tandem::Error ("[rollout_correction] ...") on a bad shape, mismatched sizes or a
// non-finite log-probability at a counted position. Bit-equal inputs give exactly 0 for the
// probability gaps, kl_k1, kl_k3 and both fractions, and equal perplexities.
MismatchStats measure_mismatch(std::span<const float> rollout_logp,
                               std::span<const float> train_logp, std::span<const uint8_t> mask,
                               int N, int T);

enum class RolloutCorrection {
  None,  // weights 1, mask unchanged: measure only
  Tis,   // token-level truncated importance sampling: w_t = min(r_t, cap)
  Mis,   // sequence-level masked IS: g = exp(mean_t log r_t) over the row's counted tokens; a row
         // with g outside [low, high] is dropped whole, a kept row's tokens weigh g
  Mask,  // token-level rejection: tokens with r_t outside [low, high] stop counting, the rest
         // weigh 1
};

// "none", "tis", "mis", "mask".
std::string_view rollout_correction_name(RolloutCorrection mode);
// The inverse of rollout_correction_name; anything else throws tandem::ConfigError naming the
// choices.
RolloutCorrection parse_rollout_correction(std::string_view name);

// Every field is checked whatever the mode (the defaults are valid, so only a value someone set
// can fail): tandem::ConfigError naming the field in backticks (`cap`, `low`, `high`).
struct CorrectionConfig {
  RolloutCorrection mode = RolloutCorrection::None;
  double cap = 2.0;   // tis: finite, >= 1 (a cap below 1 would shrink on-policy tokens too)
  double low = 0.5;   // mis, mask: finite, 0 < low < 1 (ratio 1, no mismatch, is always kept)
  double high = 2.0;  // mis, mask: finite, high > 1; the kept interval [low, high] is closed
};

struct CorrectionStats {
  int64_t tokens = 0;       // counted tokens of the input mask
  int64_t kept_tokens = 0;  // counted tokens of the corrected mask
  int sequences = 0;        // rows with at least one counted token in the input mask
  int masked_sequences = 0;  // of those, the rows the correction left with none
  double masked_fraction = 0;  // (tokens - kept_tokens) / tokens; 0 when nothing counts
  // Over the kept tokens, of the weights as returned (float); all 0 when nothing is kept:
  double mean_weight = 0;
  double max_weight = 0;
  double ess = 0;  // effective sample size fraction (sum w)^2 / (n * sum w^2), in (0, 1]
};

struct Correction {
  std::vector<float> weights;  // (N*T) per-token weight; 0 where the corrected mask is 0
  std::vector<uint8_t> mask;   // (N*T) corrected mask, 0/1: pass it as GrpoBatch::mask
  CorrectionStats stats;
};

// The weights go to GrpoBatch::weights (they scale each token's policy-gradient term, not the
// KL penalty) and the corrected mask to GrpoBatch::mask (so dropped tokens also leave the
// aggregation's denominator). Throws as measure_mismatch, and ConfigError on a bad config.
Correction apply_correction(std::span<const float> rollout_logp, std::span<const float> train_logp,
                            std::span<const uint8_t> mask, int N, int T,
                            const CorrectionConfig& config);

}  // namespace tandem
