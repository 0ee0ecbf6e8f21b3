#include "tandem/engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "tandem/core/error.h"
#include "tandem/core/rng.h"

namespace tandem {

namespace {
// log sum exp(logits) as (max, log of the sum below it), in double for a stable sum over large
// vocabularies; log softmax(logits)[t] = logits[t] - max - log_sum.
struct LogSumExp {
  float max;
  double log_sum;
};
LogSumExp log_sum_exp(std::span<const float> logits) {
  const float mx = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float l : logits) sum += std::exp(double(l) - mx);
  return {mx, std::log(sum)};
}

float log_prob(std::span<const float> logits, int32_t token) {
  const LogSumExp z = log_sum_exp(logits);
  return float(double(logits[token]) - z.max - z.log_sum);
}

// Orders candidates by logit, ties by id, so the order is total and reproducible.
auto by_logit(std::span<const float> logits) {
  return [logits](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
}
}  // namespace

TokenLogprob sample_token(std::span<const float> logits, const SamplingConfig& cfg, uint64_t sequence,
                     uint64_t step) {
  const int V = int(logits.size());
  TANDEM_CHECK(V > 0, "[sample] empty logits");
  if (cfg.temperature <= 0.0f) {
    const int32_t best = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
    return {best, log_prob(logits, best)};
  }
  std::vector<int32_t> order(V);
  std::iota(order.begin(), order.end(), 0);
  const int k = cfg.top_k > 0 ? std::min(cfg.top_k, V) : V;
  std::partial_sort(order.begin(), order.begin() + k, order.end(), by_logit(logits));
  order.resize(k);
  std::vector<double> prob(k);
  const double mx = logits[order[0]];
  double total = 0;
  for (int i = 0; i < k; ++i) total += prob[i] = std::exp((logits[order[i]] - mx) / cfg.temperature);
  // Nucleus: the smallest prefix whose mass reaches top_p.
  int keep = k;
  if (cfg.top_p < 1.0f) {
    double mass = 0;
    for (int i = 0; i < k; ++i) {
      mass += prob[i] / total;
      if (mass >= cfg.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  double kept = 0;
  for (int i = 0; i < keep; ++i) kept += prob[i];
  const double u = Rng(cfg.seed, sequence).uniform(step) * kept;
  double acc = 0;
  int32_t token = order[keep - 1];
  for (int i = 0; i < keep; ++i) {
    acc += prob[i];
    if (u < acc) {
      token = order[i];
      break;
    }
  }
  return {token, log_prob(logits, token)};
}

std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int k) {
  const int V = int(logits.size());
  k = std::clamp(k, 0, V);
  if (k == 0) return {};
  std::vector<int32_t> order(V);
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + k, order.end(), by_logit(logits));
  const LogSumExp z = log_sum_exp(logits);
  std::vector<TokenLogprob> out(k);
  for (int i = 0; i < k; ++i)
    out[i] = {order[i], float(double(logits[order[i]]) - z.max - z.log_sum)};
  return out;
}

}  // namespace tandem
