#pragma once
// How a task problem becomes tokens, in Qwen3's ChatML convention (the same text render_chat
// produces): the user turn holds the problem, the assistant turn the worked solution, which
// already starts with its <think> block, and the turn ends with <|im_end|>, the stop token.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/data/example.h"
#include "tandem/data/tasks/task.h"
#include "tandem/tokenizer/chat_template.h"
#include "tandem/tokenizer/tokenizer.h"

namespace tandem {

// The special tokens every tandem chat vocabulary carries.
std::vector<std::string> chat_special_tokens();

// "<|im_start|>user\n{problem}<|im_end|>\n<|im_start|>assistant\n"
std::vector<int32_t> chat_prompt_tokens(const Tokenizer& tok, const std::string& user_text);
int32_t chat_stop_token(const Tokenizer& tok);  // <|im_end|>

// A task problem as a training example: prompt, then solution and stop token with loss.
Example chat_example(const Tokenizer& tok, const tasks::Problem& problem);

// A conversation as a training example, in ChatML: each message is "<|im_start|>{role}\n{content}
// <|im_end|>\n"; an assistant's content and its <|im_end|> carry loss, the rest (headers, system,
// user and tool turns) does not, and the example ends with the last assistant's <|im_end|>. The
// content is taken verbatim (a "<think>" block inside it stays as written; reasoning_content
// becomes "<think>\n{reasoning}\n</think>\n\n" before it, as Qwen3's template writes it). With
// keep_thinking false, think blocks and reasoning_content are dropped. A single user turn then
// an assistant turn gives the tokens of chat_example() for that prompt and solution. Each run of
// text without loss, and each with, is encoded as one string.
Example chat_training_example(const Tokenizer& tok, const std::vector<ChatMessage>& messages,
                              bool keep_thinking);

// A document for pretraining: its tokens then <|endoftext|> (when the vocabulary has it), every
// token but the first carrying loss.
Example text_example(const Tokenizer& tok, std::string_view text);

// The assistant content without its "<think>...</think>" block and the whitespace after it.
std::string drop_thinking(std::string_view content);

}  // namespace tandem
