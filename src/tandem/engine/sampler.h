#pragma once
// Turning logits into a token: greedy, or temperature + top-k + top-p sampling driven by the
// counter-based RNG. The draw for (seed, sequence, step) is fixed, so a sequence samples the same
// tokens whatever batch or slot it runs in.
#include <cstdint>
#include <span>
#include <vector>

namespace tandem {

struct SamplingConfig {
  float temperature = 0.0f;  // 0: greedy (argmax, lowest id on ties)
  int top_k = 0;             // 0: no limit
  float top_p = 1.0f;        // nucleus mass kept; 1: all
  uint64_t seed = 0;
};

struct TokenLogprob {
  int32_t token;
  float logprob;  // log-probability of `token` under the model (softmax of the raw logits)
};

TokenLogprob sample_token(std::span<const float> logits, const SamplingConfig& cfg,
                          uint64_t sequence, uint64_t step);

// The k most likely tokens and their log-probabilities, most likely first (ties: lower id).
std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int k);

}  // namespace tandem
