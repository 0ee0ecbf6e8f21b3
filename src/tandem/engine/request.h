#pragma once
// What goes into the generation engine and what comes out: a request (prompt, limits, sampling,
// stops, streaming callbacks) and its completion.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/engine/sampler.h"

namespace tandem {

struct GenerationConfig {
  int max_new_tokens = 128;
  std::vector<int32_t> stop_tokens;  // generation ends after emitting one (kept in `tokens`)
  SamplingConfig sampling;
};

struct Completion {
  enum class Finish { Stop, Length, Cancelled };
  std::vector<int32_t> tokens;   // generated tokens, the stop token included
  std::vector<float> logprobs;   // one per token
  std::vector<std::vector<TokenLogprob>> top_logprobs;  // per token, when the request asked
  Finish finish = Finish::Length;
  // The text of the tokens (with a tokenizer), without the stop token, cut before a stop string.
  std::string text;
};

// One generated token as it is streamed.
struct TokenEvent {
  int32_t token;
  float logprob;
  std::span<const TokenLogprob> top_logprobs;  // empty unless asked
  std::string_view text;  // text newly released (whole UTF-8 characters; may be empty)
};

struct Request {
  std::vector<int32_t> prompt;
  GenerationConfig generation;
  // The sampler's RNG stream: the same sequence number gives the same draws whatever slot,
  // batch or moment the request runs in.
  uint64_t sequence = 0;
  std::vector<std::string> stop_strings;  // need the engine's tokenizer; text ends before one
  int top_logprobs = 0;                   // alternatives kept per token
  // Called on the engine's thread: each token as it is sampled, then the completion, once.
  std::function<void(const TokenEvent&)> on_token;
  std::function<void(Completion&&)> on_done;
};

}  // namespace tandem
