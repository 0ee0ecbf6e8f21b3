#pragma once
// The generation engine: many prompts of different lengths through a Decoder's slots with
// continuous batching (a finished slot takes the next prompt at once), sampling each new token and
// keeping its log-probability, which reasoning RL needs.
#include <cstdint>
#include <functional>
#include <vector>

#include "tandem/model/decoder.h"
#include "tandem/model/sampler.h"

namespace tandem {

struct GenerationConfig {
  int max_new_tokens = 128;
  std::vector<int32_t> stop_tokens;  // generation ends after emitting one of these (kept in output)
  SamplingConfig sampling;
};

struct Completion {
  enum class Finish { Stop, Length };
  std::vector<int32_t> tokens;   // generated tokens, the stop token included
  std::vector<float> logprobs;   // one per token
  Finish finish = Finish::Length;
};

// Prompt i draws its random numbers as sequence first_sequence + i, so results do not depend on
// the number of slots or on which slot a prompt lands in. on_done(i) is called as each finishes.
std::vector<Completion> generate(Decoder& decoder, const std::vector<std::vector<int32_t>>& prompts,
                                 const GenerationConfig& cfg, uint64_t first_sequence = 0,
                                 const std::function<void(size_t)>& on_done = {});

}  // namespace tandem
