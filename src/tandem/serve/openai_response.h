#pragma once
// The JSON the API answers with, in OpenAI's shapes: whole chat and text completions, streamed
// chunks, the logprobs of each token, usage. Built from what the engine produced; the server
// only decides when to send which.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tandem/engine/request.h"
#include "tandem/serve/openai_request.h"
#include "tandem/tokenizer/tokenizer.h"

namespace tandem::serve {

// What every object of one response shares.
struct ResponseHead {
  std::string id;       // "chatcmpl-..." or "cmpl-..."
  int64_t created = 0;  // unix seconds
  std::string model;
  std::string fingerprint;  // system_fingerprint: names the weights that answered
  std::string weights_version;  // "weights_version" (a tandem extension) when not empty
};

// One token's logprob entry; `top` may be empty.
struct TokenLogprobs {
  int32_t token = 0;
  float logprob = 0;
  std::vector<TokenLogprob> top;
};

// Chat: {"content": [{"token", "logprob", "bytes", "top_logprobs", "token_id"}]}.
nlohmann::json chat_logprobs(const Tokenizer& tok, const std::vector<TokenLogprobs>& tokens);
// Completions: {"tokens", "token_logprobs", "top_logprobs", "text_offset"}; text_offset counts
// bytes from `offset` on.
nlohmann::json text_logprobs(const Tokenizer& tok, const std::vector<TokenLogprobs>& tokens,
                             size_t offset);

const char* finish_reason(Completion::Finish f);  // "stop" or "length"

struct Usage {
  int64_t prompt_tokens = 0, completion_tokens = 0;
};
nlohmann::json usage_json(const Usage& u);

// One finished choice, for the whole (non-streamed) response.
struct ChoiceResult {
  std::string content;
  std::optional<std::string> reasoning;  // chat, when the completion had a think block
  std::vector<TokenLogprobs> logprobs;   // when asked
  std::vector<int32_t> token_ids;        // when asked (return_token_ids): every token, stop included
  Completion::Finish finish = Completion::Finish::Length;
};
nlohmann::json completion_response(const ResponseHead& head, Endpoint endpoint,
                                   const Tokenizer& tok, const std::vector<ChoiceResult>& choices,
                                   bool with_logprobs, const Usage& usage);

// A streamed chunk for one choice: a delta (role, content, reasoning) with the tokens' logprobs,
// or the closing one with its finish reason. Chat: "chat.completion.chunk" objects;
// completions: "text_completion" objects with "text".
struct ChunkDelta {
  int index = 0;
  bool role = false;  // the first chunk of a chat choice carries the role
  std::string content, reasoning;
  std::vector<TokenLogprobs> logprobs;
  size_t text_offset = 0;  // completions' logprobs offsets start here
  std::optional<Completion::Finish> finish;
};
nlohmann::json chunk(const ResponseHead& head, Endpoint endpoint, const Tokenizer& tok,
                     const ChunkDelta& delta, bool with_logprobs);
// The last chunk when stream_options.include_usage is set: no choices, the usage.
nlohmann::json usage_chunk(const ResponseHead& head, Endpoint endpoint, const Usage& usage);

// JSON for the wire: invalid UTF-8 (a token may hold half a character) becomes U+FFFD.
std::string dump(const nlohmann::json& j);

}  // namespace tandem::serve
