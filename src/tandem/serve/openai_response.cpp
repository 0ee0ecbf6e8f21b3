#include "tandem/serve/openai_response.h"

#include "tandem/core/json_text.h"

namespace tandem::serve {

using nlohmann::json;

namespace {
std::string token_bytes(const Tokenizer& tok, int32_t id) {
  return id >= 0 && id < tok.vocab_size() ? tok.decode(std::span(&id, 1)) : std::string();
}

json bytes_of(const std::string& s) {
  json b = json::array();
  for (unsigned char c : s) b.push_back(int(c));
  return b;
}

json logprob_entry(const Tokenizer& tok, int32_t id, float logprob) {
  const std::string text = token_bytes(tok, id);
  return {{"token", text}, {"logprob", logprob}, {"bytes", bytes_of(text)}, {"token_id", id}};
}

const char* object_name(Endpoint e, bool chunk) {
  if (e == Endpoint::Chat) return chunk ? "chat.completion.chunk" : "chat.completion";
  return "text_completion";
}

json head_json(const ResponseHead& head, Endpoint endpoint, bool chunk) {
  json out = {{"id", head.id},
              {"object", object_name(endpoint, chunk)},
              {"created", head.created},
              {"model", head.model},
              {"system_fingerprint", head.fingerprint}};
  if (!head.weights_version.empty()) out["weights_version"] = head.weights_version;
  return out;
}
}  // namespace

json chat_logprobs(const Tokenizer& tok, const std::vector<TokenLogprobs>& tokens) {
  json content = json::array();
  for (const TokenLogprobs& t : tokens) {
    json e = logprob_entry(tok, t.token, t.logprob);
    json top = json::array();
    for (const TokenLogprob& alt : t.top) top.push_back(logprob_entry(tok, alt.token, alt.logprob));
    e["top_logprobs"] = std::move(top);
    content.push_back(std::move(e));
  }
  return {{"content", std::move(content)}};
}

json text_logprobs(const Tokenizer& tok, const std::vector<TokenLogprobs>& tokens, size_t offset) {
  json toks = json::array(), lps = json::array(), tops = json::array(), offsets = json::array();
  for (const TokenLogprobs& t : tokens) {
    const std::string text = token_bytes(tok, t.token);
    toks.push_back(text);
    lps.push_back(t.logprob);
    json top = json::object();
    for (const TokenLogprob& alt : t.top) top[token_bytes(tok, alt.token)] = alt.logprob;
    tops.push_back(t.top.empty() ? json(nullptr) : std::move(top));
    offsets.push_back(offset);
    offset += text.size();
  }
  return {{"tokens", toks}, {"token_logprobs", lps}, {"top_logprobs", tops},
          {"text_offset", offsets}};
}

const char* finish_reason(Completion::Finish f) {
  return f == Completion::Finish::Stop ? "stop" : "length";
}

json usage_json(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens}};
}

json completion_response(const ResponseHead& head, Endpoint endpoint, const Tokenizer& tok,
                         const std::vector<ChoiceResult>& choices, bool with_logprobs,
                         const Usage& usage) {
  json out = head_json(head, endpoint, false);
  json list = json::array();
  size_t index = 0;
  for (const ChoiceResult& c : choices) {
    json choice = {{"index", index++}, {"finish_reason", finish_reason(c.finish)}};
    if (endpoint == Endpoint::Chat) {
      json message = {{"role", "assistant"}, {"content", c.content}};
      if (c.reasoning) message["reasoning_content"] = *c.reasoning;
      choice["message"] = std::move(message);
      choice["logprobs"] = with_logprobs ? chat_logprobs(tok, c.logprobs) : json(nullptr);
    } else {
      choice["text"] = c.content;
      choice["logprobs"] = with_logprobs ? text_logprobs(tok, c.logprobs, 0) : json(nullptr);
    }
    if (!c.token_ids.empty()) choice["token_ids"] = c.token_ids;
    list.push_back(std::move(choice));
  }
  out["choices"] = std::move(list);
  out["usage"] = usage_json(usage);
  return out;
}

json chunk(const ResponseHead& head, Endpoint endpoint, const Tokenizer& tok,
           const ChunkDelta& d, bool with_logprobs) {
  json out = head_json(head, endpoint, true);
  json choice = {{"index", d.index},
                 {"finish_reason", d.finish ? json(finish_reason(*d.finish)) : json(nullptr)}};
  const bool has_logprobs = with_logprobs && !d.logprobs.empty();
  if (endpoint == Endpoint::Chat) {
    json delta = json::object();
    if (d.role) delta["role"] = "assistant";
    if (!d.content.empty() || d.role) delta["content"] = d.content;
    if (!d.reasoning.empty()) delta["reasoning_content"] = d.reasoning;
    choice["delta"] = std::move(delta);
    choice["logprobs"] = has_logprobs ? chat_logprobs(tok, d.logprobs) : json(nullptr);
  } else {
    choice["text"] = d.content;
    choice["logprobs"] = has_logprobs ? text_logprobs(tok, d.logprobs, d.text_offset) : json(nullptr);
  }
  out["choices"] = json::array({std::move(choice)});
  return out;
}

json usage_chunk(const ResponseHead& head, Endpoint endpoint, const Usage& usage) {
  json out = head_json(head, endpoint, true);
  out["choices"] = json::array();
  out["usage"] = usage_json(usage);
  return out;
}

std::string dump(const json& j) {
  return json_text(j, -1, InvalidUtf8::kReplace);
}

}  // namespace tandem::serve
