#include "tandem/tokenizer/chat_template.h"

#include <nlohmann/json.hpp>

#include "tandem/core/error.h"

namespace tandem {
namespace {
// Python's str.lstrip / rstrip / strip with a character set, as the template uses them.
std::string lstrip(std::string s, char c) { return s.erase(0, s.find_first_not_of(c) == std::string::npos ? s.size() : s.find_first_not_of(c)); }
std::string rstrip(std::string s, char c) {
  const size_t end = s.find_last_not_of(c);
  s.erase(end == std::string::npos ? 0 : end + 1);
  return s;
}
std::string strip(const std::string& s, char c) { return lstrip(rstrip(s, c), c); }

bool starts_with(const std::string& s, std::string_view p) { return s.rfind(p, 0) == 0; }
bool ends_with(const std::string& s, std::string_view p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

// s.split(sep)[-1] and s.split(sep)[0].
std::string after_last(const std::string& s, const std::string& sep) {
  const size_t p = s.rfind(sep);
  return p == std::string::npos ? s : s.substr(p + sep.size());
}
std::string before_first(const std::string& s, const std::string& sep) {
  const size_t p = s.find(sep);
  return p == std::string::npos ? s : s.substr(0, p);
}
}  // namespace

std::string render_chat(std::span<const ChatMessage> messages, const ChatOptions& options) {
  std::string out;
  const size_t n = messages.size();
  if (n > 0 && messages[0].role == "system")
    out += "<|im_start|>system\n" + messages[0].content + "<|im_end|>\n";
  // The last user turn that is a real query (not a tool response wrapped as user text): only
  // assistant turns after it keep their reasoning.
  size_t last_query = n == 0 ? 0 : n - 1;
  for (size_t k = n; k-- > 0;) {
    const ChatMessage& m = messages[k];
    if (m.role == "user" &&
        !(starts_with(m.content, "<tool_response>") && ends_with(m.content, "</tool_response>"))) {
      last_query = k;
      break;
    }
  }
  for (size_t i = 0; i < n; ++i) {
    const ChatMessage& m = messages[i];
    if (m.role == "user" || (m.role == "system" && i != 0)) {
      out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
    } else if (m.role == "assistant") {
      std::string content = m.content;
      std::string reasoning;
      if (m.reasoning_content) {
        reasoning = *m.reasoning_content;
      } else if (m.content.find("</think>") != std::string::npos) {
        content = lstrip(after_last(m.content, "</think>"), '\n');
        reasoning = lstrip(after_last(rstrip(before_first(m.content, "</think>"), '\n'), "<think>"), '\n');
      }
      if (i > last_query && (i + 1 == n || !reasoning.empty())) {
        out += "<|im_start|>" + m.role + "\n<think>\n" + strip(reasoning, '\n') + "\n</think>\n\n" +
               lstrip(content, '\n');
      } else {
        out += "<|im_start|>" + m.role + "\n" + content;
      }
      out += "<|im_end|>\n";
    } else if (m.role == "tool") {
      if (i == 0 || messages[i - 1].role != "tool") out += "<|im_start|>user";
      out += "\n<tool_response>\n" + m.content + "\n</tool_response>";
      if (i + 1 == n || messages[i + 1].role != "tool") out += "<|im_end|>\n";
    }
    // Other roles render nothing, as in the template.
  }
  if (options.add_generation_prompt) {
    out += "<|im_start|>assistant\n";
    if (options.enable_thinking == false) out += "<think>\n\n</think>\n\n";
  }
  return out;
}

namespace {
// A message's content: a string, or (OpenAI's multi-part form) an array of {"type": "text",
// "text": ...} parts, joined; null for an assistant turn that only called tools.
std::string content_text(const nlohmann::json& m, const std::string& source, size_t i) {
  auto it = m.find("content");
  TANDEM_CHECK(it != m.end(), "{}: messages[{}].content: missing", source, i);
  if (it->is_string()) return it->get<std::string>();
  if (it->is_null()) return "";
  TANDEM_CHECK(it->is_array(), "{}: messages[{}].content: expected a string or an array of text parts",
               source, i);
  std::string text;
  for (size_t k = 0; k < it->size(); ++k) {
    const auto& part = (*it)[k];
    auto type = part.is_object() ? part.find("type") : part.end();
    auto body = part.is_object() ? part.find("text") : part.end();
    TANDEM_CHECK(part.is_object() && type != part.end() && *type == "text" && body != part.end() &&
                     body->is_string(),
                 "{}: messages[{}].content[{}]: expected a text part {{\"type\": \"text\", "
                 "\"text\": ...}}",
                 source, i, k);
    text += body->get<std::string>();
  }
  return text;
}
}  // namespace

std::vector<ChatMessage> chat_messages_from_json(const nlohmann::json& j, const std::string& source,
                                                 ChatOptions* options) {
  const nlohmann::json* list = &j;
  if (j.is_object()) {
    auto it = j.find("messages");
    TANDEM_CHECK(it != j.end(), "{}: messages: missing", source);
    list = &*it;
    if (options) {
      auto g = j.find("add_generation_prompt");
      if (g != j.end()) {
        TANDEM_CHECK(g->is_boolean(), "{}: add_generation_prompt: expected a boolean", source);
        options->add_generation_prompt = g->get<bool>();
      }
      auto t = j.find("enable_thinking");
      if (t != j.end() && !t->is_null()) {
        TANDEM_CHECK(t->is_boolean(), "{}: enable_thinking: expected a boolean", source);
        options->enable_thinking = t->get<bool>();
      }
    }
  }
  TANDEM_CHECK(list->is_array(), "{}: messages: expected an array", source);
  std::vector<ChatMessage> out;
  for (size_t i = 0; i < list->size(); ++i) {
    const auto& m = (*list)[i];
    TANDEM_CHECK(m.is_object(), "{}: messages[{}]: expected an object", source, i);
    ChatMessage msg;
    auto role = m.find("role");
    TANDEM_CHECK(role != m.end() && role->is_string(), "{}: messages[{}].role: expected a string",
                 source, i);
    msg.role = role->get<std::string>();
    msg.content = content_text(m, source, i);
    auto r = m.find("reasoning_content");
    if (r != m.end() && !r->is_null()) {
      TANDEM_CHECK(r->is_string(), "{}: messages[{}].reasoning_content: expected a string", source, i);
      msg.reasoning_content = r->get<std::string>();
    }
    out.push_back(std::move(msg));
  }
  return out;
}

}  // namespace tandem
