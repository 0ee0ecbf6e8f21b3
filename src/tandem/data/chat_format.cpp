#include "tandem/data/chat_format.h"

#include "tandem/core/error.h"
#include "tandem/tokenizer/chat_template.h"

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

ChatExample chat_example(const Tokenizer& tok, const tasks::Problem& problem) {
  ChatExample ex;
  ex.tokens = chat_prompt_tokens(tok, problem.prompt);
  ex.loss_from = ex.tokens.size();
  const auto solution = tok.encode(problem.solution);
  ex.tokens.insert(ex.tokens.end(), solution.begin(), solution.end());
  ex.tokens.push_back(chat_stop_token(tok));
  return ex;
}

}  // namespace tandem
