#include "tandem/data/chat_format.h"

#include "tandem/core/error.h"

namespace tandem {

std::vector<std::string> chat_special_tokens() {
  return {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"};
}

std::vector<int32_t> chat_prompt_tokens(const Tokenizer& tok, const std::string& user_text) {
  std::string text = user_text;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  const ChatMessage msg{"user", text, std::nullopt};
  ChatOptions options;
  options.add_generation_prompt = true;
  return tok.encode(render_chat(std::span(&msg, 1), options));
}

int32_t chat_stop_token(const Tokenizer& tok) {
  const int32_t id = tok.find_token("<|im_end|>");
  TANDEM_CHECK(id >= 0, "tokenizer has no <|im_end|> token: not a chat vocabulary");
  return id;
}

Example chat_example(const Tokenizer& tok, const tasks::Problem& problem) {
  Example ex;
  ex.append(chat_prompt_tokens(tok, problem.prompt), false);
  ex.append(tok.encode(problem.solution), true);
  ex.append({chat_stop_token(tok)}, true);
  return ex;
}

std::string drop_thinking(std::string_view content) {
  const size_t open = content.find("<think>");
  const size_t close = open == std::string_view::npos ? open : content.find("</think>", open);
  if (close == std::string_view::npos) return std::string(content);
  size_t after = close + std::string_view("</think>").size();
  while (after < content.size() && (content[after] == '\n' || content[after] == ' ')) ++after;
  return std::string(content.substr(0, open)) + std::string(content.substr(after));
}

Example chat_training_example(const Tokenizer& tok, const std::vector<ChatMessage>& messages,
                              bool keep_thinking) {
  const int32_t stop = chat_stop_token(tok);
  Example ex;
  std::string plain;  // text without loss not yet encoded
  for (const ChatMessage& m : messages) {
    plain += "<|im_start|>" + m.role + "\n";
    if (m.role != "assistant") {
      plain += m.content + "<|im_end|>\n";
      continue;
    }
    std::string content = m.content;
    if (keep_thinking && m.reasoning_content)
      content = "<think>\n" + *m.reasoning_content + "\n</think>\n\n" + content;
    if (!keep_thinking) content = drop_thinking(content);
    ex.append(tok.encode(plain), false);
    ex.append(tok.encode(content), true);
    ex.append({stop}, true);
    plain.assign(1, '\n');  // the newline after <|im_end|>, no loss
  }
  ex.trim();
  return ex;
}

Example text_example(const Tokenizer& tok, std::string_view text) {
  Example ex;
  ex.append(tok.encode(text), true);
  if (const int32_t eot = tok.find_token("<|endoftext|>"); eot >= 0) ex.append({eot}, true);
  if (!ex.loss.empty()) ex.loss[0] = 0;  // nothing predicts the first token
  return ex;
}

}  // namespace tandem
