#pragma once
// Chat prompts in Qwen3's ChatML convention, rendered by code instead of a Jinja engine. The
// output equals what Qwen3's chat_template (tokenizer_config.json) renders under Jinja2 for
// system / user / assistant / tool messages, reasoning ("<think>") on and off, and the
// generation prompt. Tool definitions and tool calls are not rendered.
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace tandem {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant" or "tool"
  std::string content;
  std::optional<std::string> reasoning_content;  // assistant only; else taken from <think>
};

struct ChatOptions {
  bool add_generation_prompt = false;
  // Unset: the template's default (the model decides). false: an empty think block is
  // pre-filled after the generation prompt, which turns reasoning off.
  std::optional<bool> enable_thinking;
};

std::string render_chat(std::span<const ChatMessage> messages, const ChatOptions& options = {});

// Reads {"messages": [...], "add_generation_prompt": bool, "enable_thinking": bool} (or a bare
// array of messages). `source` names the input in error messages.
std::vector<ChatMessage> chat_messages_from_json(const nlohmann::json& j, const std::string& source,
                                                 ChatOptions* options);

}  // namespace tandem
