#include "tandem/serve/openai_request.h"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "tandem/core/json_text.h"
#include "tandem/serve/api_error.h"

namespace tandem::serve {

using nlohmann::json;

namespace {

// Deeper nesting than any real request is refused before parsing: a body of a million '[' must
// cost nothing, whatever the parser does with depth.
void check_depth(std::string_view body) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : body) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth)
        bad_request("", fmt::format("the body nests deeper than {} levels", kMaxJsonDepth),
                    "invalid_json");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

json parse_object(std::string_view body) {
  check_depth(body);
  json j = parse_json_text(body, /*allow_exceptions=*/false);
  if (j.is_discarded())
    bad_request("", "the body is not valid JSON; expected an object such as {\"messages\": [...]}",
                "invalid_json");
  if (!j.is_object()) bad_request("", "the body must be a JSON object", "invalid_json");
  return j;
}

const json* field(const json& j, const char* name) {
  const auto it = j.find(name);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

std::string type_name(const json& v) { return v.type_name(); }

bool get_bool(const json& j, const char* name, bool fallback) {
  const json* v = field(j, name);
  if (!v) return fallback;
  if (!v->is_boolean()) bad_request(name, fmt::format("'{}' must be a boolean, got {}", name, type_name(*v)));
  return v->get<bool>();
}

double get_number(const json& j, const char* name, double fallback, double lo, double hi) {
  const json* v = field(j, name);
  if (!v) return fallback;
  if (!v->is_number()) bad_request(name, fmt::format("'{}' must be a number, got {}", name, type_name(*v)));
  const double x = v->get<double>();
  if (!(x >= lo && x <= hi))
    bad_request(name, fmt::format("'{}' must be in [{}, {}], got {}", name, lo, hi, x));
  return x;
}

std::optional<int64_t> get_int(const json& j, const char* name, int64_t lo, int64_t hi) {
  const json* v = field(j, name);
  if (!v) return std::nullopt;
  if (!v->is_number_integer())
    bad_request(name, fmt::format("'{}' must be an integer, got {}", name, type_name(*v)));
  if (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX))
    bad_request(name, fmt::format("'{}' must be in [{}, {}]", name, lo, hi));
  const int64_t x = v->get<int64_t>();
  if (x < lo || x > hi) bad_request(name, fmt::format("'{}' must be in [{}, {}], got {}", name, lo, hi, x));
  return x;
}

std::string get_string(const json& j, const char* name) {
  const json* v = field(j, name);
  if (!v) return "";
  if (!v->is_string()) bad_request(name, fmt::format("'{}' must be a string, got {}", name, type_name(*v)));
  return v->get<std::string>();
}

std::vector<ChatMessage> messages_of(const json& j) {
  const json* v = field(j, "messages");
  if (!v) bad_request("messages", "'messages' is required: an array of {\"role\", \"content\"}");
  if (!v->is_array() || v->empty())
    bad_request("messages", "'messages' must be a non-empty array of {\"role\", \"content\"}");
  std::vector<ChatMessage> out;
  try {
    out = chat_messages_from_json(*v, "request", nullptr);
  } catch (const Error& e) {
    std::string what = e.what();
    if (what.rfind("request: ", 0) == 0) what = what.substr(9);
    bad_request("messages", what);
  }
  for (size_t i = 0; i < out.size(); ++i) {
    std::string& role = out[i].role;
    if (role == "developer") role = "system";  // OpenAI's newer name for the system turn
    if (role != "system" && role != "user" && role != "assistant" && role != "tool")
      bad_request("messages",
                  fmt::format("messages[{}].role: '{}' is not one of system, developer, user, "
                              "assistant, tool",
                              i, role));
  }
  return out;
}

std::optional<bool> thinking_of(const json& j) {
  // vLLM's spelling (chat_template_kwargs.enable_thinking) and a top-level one.
  if (const json* kw = field(j, "chat_template_kwargs")) {
    if (!kw->is_object()) bad_request("chat_template_kwargs", "'chat_template_kwargs' must be an object");
    if (field(*kw, "enable_thinking")) return get_bool(*kw, "enable_thinking", true);
  }
  if (field(j, "enable_thinking")) return get_bool(j, "enable_thinking", true);
  return std::nullopt;
}

std::vector<int64_t> token_ids(const json& v, const char* name) {
  std::vector<int64_t> ids;
  for (const json& t : v) {
    if (!t.is_number_integer())
      bad_request(name, fmt::format("'{}' must hold integer token ids, got {}", name, type_name(t)));
    if (t.is_number_unsigned() && t.get<uint64_t>() > uint64_t(INT32_MAX))
      bad_request(name, fmt::format("'{}': token id {} is out of range", name, json_text(t)));
    ids.push_back(t.get<int64_t>());
  }
  return ids;
}

void read_prompt(const json& j, GenerationParams& p) {
  const json* v = field(j, "prompt");
  if (!v) bad_request("prompt", "'prompt' is required: a string (or an array of token ids)");
  if (v->is_string()) {
    p.prompt = v->get<std::string>();
  } else if (v->is_array() && v->size() == 1 && (*v)[0].is_string()) {
    p.prompt = (*v)[0].get<std::string>();
  } else if (v->is_array() && !v->empty() && (*v)[0].is_number()) {
    for (int64_t id : token_ids(*v, "prompt")) {
      if (id < 0 || id > INT32_MAX) bad_request("prompt", fmt::format("token id {} is out of range", id));
      p.prompt_ids.push_back(int32_t(id));
    }
  } else {
    bad_request("prompt", "'prompt' must be a string, a one-string array or an array of token ids "
                          "(one prompt per request)");
  }
  if (p.prompt.empty() && p.prompt_ids.empty()) bad_request("prompt", "'prompt' is empty");
}

void read_stop(const json& j, GenerationParams& p) {
  const json* v = field(j, "stop");
  if (!v) return;
  if (v->is_string()) {
    p.stop = {v->get<std::string>()};
  } else if (v->is_array()) {
    for (const json& s : *v) {
      if (!s.is_string()) bad_request("stop", "'stop' must be a string or an array of strings");
      p.stop.push_back(s.get<std::string>());
    }
  } else {
    bad_request("stop", "'stop' must be a string or an array of strings");
  }
  if (int(p.stop.size()) > kMaxStops)
    bad_request("stop", fmt::format("'stop' holds at most {} strings", kMaxStops));
  for (const std::string& s : p.stop) {
    if (s.empty()) bad_request("stop", "'stop' strings must not be empty");
    if (int(s.size()) > kMaxStopBytes)
      bad_request("stop", fmt::format("'stop' strings are at most {} bytes", kMaxStopBytes));
  }
}

void read_logprobs(const json& j, GenerationParams& p) {
  if (p.endpoint == Endpoint::Chat) {
    p.logprobs = get_bool(j, "logprobs", false);
    p.top_logprobs = int(get_int(j, "top_logprobs", 0, kMaxTopLogprobs).value_or(0));
    if (p.top_logprobs > 0 && !p.logprobs)
      bad_request("top_logprobs", "'top_logprobs' needs 'logprobs': true");
  } else {  // the legacy API: logprobs is how many alternatives to list
    const auto n = get_int(j, "logprobs", 0, 5);
    p.logprobs = n.has_value();
    p.top_logprobs = int(n.value_or(0));
  }
}

}  // namespace

GenerationParams parse_generation_request(std::string_view body, Endpoint endpoint) {
  const json j = parse_object(body);
  GenerationParams p;
  p.endpoint = endpoint;
  p.model = get_string(j, "model");
  if (endpoint == Endpoint::Chat) {
    p.messages = messages_of(j);
    p.enable_thinking = thinking_of(j);
  } else {
    read_prompt(j, p);
  }
  // max_completion_tokens is the chat API's newer name for max_tokens.
  const char* max_name = field(j, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  if (auto m = get_int(j, max_name, 1, INT32_MAX)) p.max_tokens = int(*m);
  p.temperature = float(get_number(j, "temperature", 1.0, 0.0, 2.0));
  p.top_p = float(get_number(j, "top_p", 1.0, 0.0, 1.0));
  if (p.top_p <= 0.0f) bad_request("top_p", "'top_p' must be in (0, 1], got 0");
  p.top_k = int(get_int(j, "top_k", 0, INT32_MAX).value_or(0));
  if (auto s = get_int(j, "seed", INT64_MIN, INT64_MAX)) p.seed = uint64_t(*s);
  read_stop(j, p);
  p.n = int(get_int(j, "n", 1, kMaxChoices).value_or(1));
  p.stream = get_bool(j, "stream", false);
  if (const json* so = field(j, "stream_options")) {
    if (!so->is_object()) bad_request("stream_options", "'stream_options' must be an object");
    p.include_usage = get_bool(*so, "include_usage", false);
  }
  read_logprobs(j, p);
  p.ignore_eos = get_bool(j, "ignore_eos", false);
  if (const json* v = field(j, "stop_token_ids")) {
    if (!v->is_array()) bad_request("stop_token_ids", "'stop_token_ids' must be an array of token ids");
    if (int(v->size()) > kMaxStops)
      bad_request("stop_token_ids", fmt::format("'stop_token_ids' holds at most {} ids", kMaxStops));
    for (int64_t id : token_ids(*v, "stop_token_ids")) {
      if (id < 0) bad_request("stop_token_ids", fmt::format("token id {} is out of range", id));
      p.stop_token_ids.push_back(int32_t(id));
    }
  }
  p.return_token_ids = get_bool(j, "return_token_ids", false);
  if (auto s = get_int(j, "sequence", 0, INT64_MAX)) p.sequence = uint64_t(*s);
  return p;
}

TokenizeParams parse_tokenize_request(std::string_view body) {
  const json j = parse_object(body);
  TokenizeParams p;
  if (field(j, "messages")) {
    p.is_chat = true;
    p.messages = messages_of(j);
    p.enable_thinking = thinking_of(j);
  } else if (field(j, "prompt")) {
    p.prompt = get_string(j, "prompt");
  } else {
    bad_request("prompt", "expected {\"prompt\": \"text\"} or {\"messages\": [...]}");
  }
  return p;
}

std::vector<int64_t> parse_detokenize_request(std::string_view body) {
  const json j = parse_object(body);
  const json* v = field(j, "tokens");
  if (!v || !v->is_array()) bad_request("tokens", "expected {\"tokens\": [token ids]}");
  return token_ids(*v, "tokens");
}

}  // namespace tandem::serve
