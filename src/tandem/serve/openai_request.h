#pragma once
// The bodies of POST /v1/chat/completions and /v1/completions, read and checked: every field the
// server honours, its type and range, as a pure function of the bytes, so it can be fuzzed. A
// problem is an ApiError (400) naming the field; unknown fields are ignored, as OpenAI's clients
// send fields a server may not know.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/tokenizer/chat_template.h"

namespace tandem::serve {

enum class Endpoint { Chat, Completions };

// The limits a request may ask up to.
inline constexpr int kMaxChoices = 16;      // n
inline constexpr int kMaxStops = 16;        // stop strings
inline constexpr int kMaxStopBytes = 256;   // per stop string
inline constexpr int kMaxTopLogprobs = 20;  // top_logprobs
inline constexpr int kMaxJsonDepth = 64;    // nesting of the body

struct GenerationParams {
  Endpoint endpoint = Endpoint::Chat;
  std::string model;  // "" when the request names none
  // Chat: the conversation and the template's reasoning switch (unset: the model decides).
  std::vector<ChatMessage> messages;
  std::optional<bool> enable_thinking;
  // Completions: text, or token ids given directly.
  std::string prompt;
  std::vector<int32_t> prompt_ids;
  std::optional<int> max_tokens;  // unset: up to the end of the context
  float temperature = 1.0f;       // OpenAI's default; 0 is greedy
  float top_p = 1.0f;
  int top_k = 0;                  // 0: no limit (an extension vLLM and llama.cpp share)
  std::optional<uint64_t> seed;   // unset: a fresh one per request
  std::vector<std::string> stop;
  int n = 1;
  bool stream = false;
  bool include_usage = false;     // stream_options.include_usage
  bool logprobs = false;
  int top_logprobs = 0;
  bool ignore_eos = false;  // generate max_tokens whatever the model says (benchmarks; vLLM's name)
  // Extensions a trainer uses to make rollouts here exactly as it would in-process
  // (docs/rl-across-engines.md):
  std::vector<int32_t> stop_token_ids;  // further tokens that end a completion (vLLM's name)
  bool return_token_ids = false;        // each choice lists its token ids (vLLM's name)
  uint64_t sequence = 0;                // choice i samples from random stream (seed, sequence + i)
};

GenerationParams parse_generation_request(std::string_view body, Endpoint endpoint);

// POST /tokenize: {"prompt": "..."} or {"messages": [...]} (rendered with the chat template and
// its generation prompt); POST /detokenize: {"tokens": [ids]}.
struct TokenizeParams {
  std::string prompt;
  std::vector<ChatMessage> messages;
  bool is_chat = false;
  std::optional<bool> enable_thinking;
};
TokenizeParams parse_tokenize_request(std::string_view body);
std::vector<int64_t> parse_detokenize_request(std::string_view body);

}  // namespace tandem::serve
