#include "tandem/rl/grpo_loss.h"

#include <algorithm>
#include <cmath>

#include "tandem/core/error.h"

namespace tandem {
namespace {

void validate(const GrpoBatch& b, const GrpoConfig& c) {
  const double eps_high = c.epsilon_high.value_or(c.epsilon);
  TANDEM_CHECK(c.epsilon >= 0 && c.epsilon <= 1, "[grpo] epsilon must be in [0, 1], got {}",
               c.epsilon);
  TANDEM_CHECK(eps_high >= 0 && std::isfinite(eps_high), "[grpo] epsilon_high must be >= 0, got {}",
               eps_high);
  TANDEM_CHECK(c.beta >= 0 && std::isfinite(c.beta), "[grpo] beta must be >= 0, got {}", c.beta);
  TANDEM_CHECK(c.aggregation != LossAggregation::DrGrpo || c.max_completion_length > 0,
               "[grpo] dr_grpo aggregation needs max_completion_length > 0, got {}",
               c.max_completion_length);
  TANDEM_CHECK(b.num_completions >= 0 && b.length >= 0, "[grpo] bad batch shape ({}, {})",
               b.num_completions, b.length);
  const size_t n = size_t(b.num_completions) * size_t(b.length);
  auto check_size = [&](size_t got, size_t want, const char* what) {
    TANDEM_CHECK(got == want, "[grpo] {} has {} entries, expected {} (N={}, T={})", what, got, want,
                 b.num_completions, b.length);
  };
  check_size(b.logp.size(), n, "logp");
  check_size(b.old_logp.size(), n, "old_logp");
  check_size(b.mask.size(), n, "mask");
  check_size(b.advantages.size(), size_t(b.num_completions), "advantages");
  if (!b.ref_logp.empty()) check_size(b.ref_logp.size(), n, "ref_logp");
  if (!b.truncated.empty()) check_size(b.truncated.size(), size_t(b.num_completions), "truncated");
  if (!b.weights.empty()) check_size(b.weights.size(), n, "weights");
  TANDEM_CHECK(c.beta == 0 || !b.ref_logp.empty(),
               "[grpo] beta = {} needs reference log-probabilities (ref_logp is empty)", c.beta);
  TANDEM_CHECK(b.global_count >= 0 && std::isfinite(b.global_count),
               "[grpo] global_count must be >= 0, got {}", b.global_count);
}

// The clipped surrogate min(r*A, clamp(r, lo, hi)*A) and its derivative with respect to logp
// (dr/dlogp = r), following autograd's conventions so the oracle and we agree even on ties:
// torch.clamp passes the gradient on the closed interval [lo, hi], and torch.min splits it in
// halves between two equal arguments.
struct Surrogate {
  double value, grad;
};
Surrogate clipped_surrogate(double r, double A, double lo, double hi) {
  const double unclipped = r * A, clipped = std::clamp(r, lo, hi) * A;
  const double clamp_pass = (r >= lo && r <= hi) ? 1.0 : 0.0;
  if (unclipped < clipped) return {unclipped, A * r};
  if (unclipped > clipped) return {clipped, clamp_pass * A * r};
  return {unclipped, 0.5 * A * r + 0.5 * clamp_pass * A * r};
}

}  // namespace

GrpoResult grpo_loss(const GrpoBatch& b, const GrpoConfig& c) {
  validate(b, c);
  const int N = b.num_completions, T = b.length;
  const double lo = 1.0 - c.epsilon, hi = 1.0 + c.epsilon_high.value_or(c.epsilon);
  const bool have_ref = !b.ref_logp.empty(), have_weights = !b.weights.empty();

  // Which positions count, and how many per row.
  std::vector<int64_t> row_tokens(size_t(N), 0);
  GrpoStats s;
  for (int i = 0; i < N; ++i) {
    const bool dropped = c.mask_truncated && !b.truncated.empty() && b.truncated[size_t(i)];
    if (dropped) continue;
    for (int t = 0; t < T; ++t) row_tokens[size_t(i)] += b.mask[size_t(i) * T + t] != 0;
    s.tokens += row_tokens[size_t(i)];
    s.sequences += row_tokens[size_t(i)] > 0;
  }
  double denom = b.global_count;
  if (denom == 0) {
    if (c.aggregation == LossAggregation::Token) denom = double(s.tokens);
    if (c.aggregation == LossAggregation::Sequence) denom = double(s.sequences);
    if (c.aggregation == LossAggregation::DrGrpo) denom = double(N);
  }

  GrpoResult out;
  out.dlogp.assign(size_t(N) * T, 0.0);
  double loss = 0, ratio_sum = 0, kl_sum = 0;
  int64_t low = 0, high = 0;
  for (int i = 0; i < N; ++i) {
    if (row_tokens[size_t(i)] == 0) continue;
    const double A = b.advantages[size_t(i)];
    TANDEM_CHECK(std::isfinite(A), "[grpo] advantage of completion {} is not finite ({})", i, A);
    // The weight of each of this row's token losses in the aggregate.
    double w = 0;
    if (c.aggregation == LossAggregation::Token) w = 1.0 / denom;
    if (c.aggregation == LossAggregation::Sequence)
      w = 1.0 / (double(row_tokens[size_t(i)]) * denom);
    if (c.aggregation == LossAggregation::DrGrpo)
      w = 1.0 / (double(c.max_completion_length) * denom);
    for (int t = 0; t < T; ++t) {
      const size_t k = size_t(i) * T + t;
      if (!b.mask[k]) continue;
      const double lp = b.logp[k], old = b.old_logp[k];
      TANDEM_CHECK(std::isfinite(lp) && std::isfinite(old),
                   "[grpo] non-finite logp or old_logp at completion {} token {}", i, t);
      const double r = std::exp(lp - old);
      const Surrogate sur = clipped_surrogate(r, A, lo, hi);
      double tok_loss = -sur.value, tok_grad = -sur.grad;
      if (have_weights) {
        // Rollout correction: the importance weight scales the policy-gradient term only.
        const double wt = b.weights[k];
        TANDEM_CHECK(std::isfinite(wt) && wt >= 0,
                     "[grpo] weight at completion {} token {} must be finite and >= 0, got {}", i,
                     t, wt);
        tok_loss *= wt, tok_grad *= wt;
      }
      if (have_ref) {
        const double ref = b.ref_logp[k];
        TANDEM_CHECK(std::isfinite(ref), "[grpo] non-finite ref_logp at completion {} token {}", i,
                     t);
        // k3 = exp(d) - d - 1 with d = ref - logp: unbiased for KL(policy || ref), always >= 0.
        const double d = ref - lp, e = std::exp(d), kl = e - d - 1.0;
        kl_sum += kl;
        if (c.beta != 0) {
          tok_loss += c.beta * kl;
          tok_grad += c.beta * (1.0 - e);  // d kl / d logp = -e + 1
        }
      }
      loss += w * tok_loss;
      out.dlogp[k] = w * tok_grad;
      ratio_sum += r;
      low += A < 0 && r < lo;
      high += A > 0 && r > hi;
    }
  }
  out.loss = loss;
  if (s.tokens > 0) {
    const double n = double(s.tokens);
    s.clip_low = double(low) / n;
    s.clip_high = double(high) / n;
    s.clip_total = double(low + high) / n;
    s.mean_kl = kl_sum / n;
    s.mean_ratio = ratio_sum / n;
  }
  out.stats = s;
  return out;
}

std::vector<float> to_dnll(std::span<const double> dlogp) {
  std::vector<float> dnll(dlogp.size());
  for (size_t k = 0; k < dlogp.size(); ++k) dnll[k] = float(-dlogp[k]);
  return dnll;
}

}  // namespace tandem
