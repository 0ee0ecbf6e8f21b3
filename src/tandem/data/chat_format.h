#pragma once
// How a task problem becomes tokens, in Qwen3's ChatML convention (the same text render_chat
// produces): the user turn holds the problem, the assistant turn the worked solution, which
// already starts with its <think> block, and the turn ends with <|im_end|>, the stop token.
#include <cstdint>
#include <string>
#include <vector>

#include "tandem/data/tasks/task.h"
#include "tandem/tokenizer/tokenizer.h"

namespace tandem {

// The special tokens every tandem chat vocabulary carries.
std::vector<std::string> chat_special_tokens();

// "<|im_start|>user\n{problem}<|im_end|>\n<|im_start|>assistant\n"
std::vector<int32_t> chat_prompt_tokens(const Tokenizer& tok, const std::string& user_text);
int32_t chat_stop_token(const Tokenizer& tok);  // <|im_end|>

// A training example: prompt then solution then stop token; loss_from is the index of the first
// token that carries loss (the first solution token).
struct ChatExample {
  std::vector<int32_t> tokens;
  size_t loss_from = 0;
};
ChatExample chat_example(const Tokenizer& tok, const tasks::Problem& problem);

}  // namespace tandem
