#pragma once
// Qwen3's chat template as Jinja source, the text of "chat_template" in Qwen3's
// tokenizer_config.json. render_chat (chat_template.h) renders the same conversations in code;
// this text is what files for other runtimes carry (GGUF's tokenizer.chat_template), so that
// llama.cpp and transformers format chats the way tandem's models were trained.
#include <string_view>

namespace tandem {

std::string_view qwen3_chat_template_jinja();

}  // namespace tandem
