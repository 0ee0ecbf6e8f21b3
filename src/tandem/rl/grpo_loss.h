#pragma once
// The GRPO objective over one batch of completions, as a pure function on host arrays: the loss,
// its analytic gradient with respect to every token's log-probability under the current policy,
// and the diagnostics a run logs. The model never sees a loss name: the trainer hands
// Transformer::backward the per-token weights dnll = -dloss/dlogp (to_dnll below).
// The objective written out, every option and its reference: docs/grpo.md.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace tandem {

enum class LossAggregation {
  Token,     // sum over all counted tokens / their number (DAPO): every token weighs the same
  Sequence,  // mean over each sequence's tokens, then mean over sequences (DeepSeekMath's GRPO)
  DrGrpo,    // sum over all counted tokens / (max_completion_length * completions) (Dr. GRPO)
};

struct GrpoConfig {
  double epsilon = 0.2;                // clip low: the ratio may fall to 1 - epsilon
  std::optional<double> epsilon_high;  // clip high (DAPO's clip-higher); unset: = epsilon
  double beta = 0.0;                   // k3 KL penalty against the reference; 0: no reference
  LossAggregation aggregation = LossAggregation::Token;
  int max_completion_length = 0;  // DrGrpo's constant; required (> 0) for it, ignored otherwise
  bool mask_truncated = false;    // completions flagged truncated count for nothing (DAPO)
};

// One batch as the trainer lays it out: N rows of T positions, row-major (the model's (B, T)),
// completions padded. A position counts when mask != 0 (and its row is not masked as truncated).
struct GrpoBatch {
  int num_completions = 0;             // N
  int length = 0;                      // T
  std::span<const float> logp;         // (N*T) current policy, e.g. -nll from the forward pass
  std::span<const float> old_logp;     // (N*T) the policy that sampled (or last epoch's trainer)
  std::span<const float> ref_logp;     // (N*T) reference model; may be empty when beta == 0
  std::span<const double> advantages;  // (N) one per completion
  std::span<const uint8_t> mask;       // (N*T) 1: a completion token that counts
  std::span<const uint8_t> truncated;  // (N) or empty: hit the length limit without stopping
  // The denominator of the aggregation when this call sees one micro-batch of a larger update:
  // the whole batch's counted tokens (Token), non-empty sequences (Sequence) or completions
  // (DrGrpo). 0: count this batch. Summing micro-batch losses then gives the whole batch's loss.
  double global_count = 0;
  // (N*T) or empty: rollout-correction weight per token (rollout_correction.h), which multiplies
  // the token's policy-gradient (clipped surrogate) term in the loss and in dlogp, and not its KL
  // penalty. Empty: every weight is 1, with results bit-identical to no weights at all. Dropping
  // tokens is the mask's job (pass the corrected mask): a weight of 0 still counts the token in
  // the aggregation's denominator and in the diagnostics.
  std::span<const float> weights{};
};

struct GrpoStats {
  int64_t tokens = 0;     // counted tokens
  int sequences = 0;      // completions with at least one counted token
  double clip_low = 0;    // fraction of counted tokens with A < 0 and ratio < 1 - epsilon
  double clip_high = 0;   // fraction with A > 0 and ratio > 1 + epsilon_high
  double clip_total = 0;  // clip_low + clip_high: the tokens whose gradient the clip zeroed
  double mean_kl = 0;     // k3 estimate, mean over counted tokens; 0 without a reference
  double mean_ratio = 0;  // exp(logp - old_logp), mean over counted tokens
};

struct GrpoResult {
  double loss = 0;
  std::vector<double> dlogp;  // (N*T) d loss / d logp; exactly 0 where a token does not count
  GrpoStats stats;
};

// Throws tandem::Error ("[grpo] ...") on mismatched sizes, bad config, beta > 0 without reference
// log-probabilities, a non-finite input at a counted position, or a negative weight there.
// The diagnostics (GrpoStats) count tokens as they are, unweighted.
GrpoResult grpo_loss(const GrpoBatch& batch, const GrpoConfig& config);

// The weights Transformer::backward takes: dnll = -dloss/dlogp, in float.
std::vector<float> to_dnll(std::span<const double> dlogp);

}  // namespace tandem
