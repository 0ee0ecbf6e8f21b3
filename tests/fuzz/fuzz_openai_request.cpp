// libFuzzer: the bodies of POST /v1/chat/completions, /v1/completions, /tokenize, /detokenize
// from untrusted clients. Every input must either parse into fields within their documented
// ranges or be refused with an ApiError (400) naming a field; nothing else may escape, crash,
// or hang (nesting is bounded before parsing).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tandem/serve/api_error.h"
#include "tandem/serve/openai_request.h"

using namespace tandem::serve;

namespace {
void check(const GenerationParams& p) {
  if (p.n < 1 || p.n > kMaxChoices) __builtin_trap();
  if (p.top_logprobs < 0 || p.top_logprobs > kMaxTopLogprobs) __builtin_trap();
  if (!(p.temperature >= 0 && p.temperature <= 2)) __builtin_trap();
  if (!(p.top_p > 0 && p.top_p <= 1)) __builtin_trap();
  if (p.max_tokens && *p.max_tokens < 1) __builtin_trap();
  if (p.stop.size() > size_t(kMaxStops)) __builtin_trap();
  if (p.endpoint == Endpoint::Chat && p.messages.empty()) __builtin_trap();
  if (p.endpoint == Endpoint::Completions && p.prompt.empty() && p.prompt_ids.empty()) __builtin_trap();
}

template <typename F>
void refused_or_ok(F&& f) {
  try {
    f();
  } catch (const ApiError& e) {
    if (e.status() != 400) __builtin_trap();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  refused_or_ok([&] { check(parse_generation_request(body, Endpoint::Chat)); });
  refused_or_ok([&] { check(parse_generation_request(body, Endpoint::Completions)); });
  refused_or_ok([&] { parse_tokenize_request(body); });
  refused_or_ok([&] { parse_detokenize_request(body); });
  return 0;
}
