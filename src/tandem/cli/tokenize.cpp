// tandem tokenize: encode text (or a chat conversation) to token ids, or decode ids to text
// (recipes/tokenizer_tools.h).
#include "tandem/cli/commands.h"
#include "tandem/cli/flags.h"
#include "tandem/core/error.h"
#include "tandem/recipes/tokenizer_tools.h"

namespace tandem::cli {

void add_tokenize_command(CLI::App& app) {
  auto args = std::make_shared<TokenizeJob>();
  auto* cmd = app.add_subcommand("tokenize",
                                 "Encode text to token ids (or decode ids) with a tokenizer.json");
  cmd->add_option("-t,--tokenizer", args->tokenizer, "Path to tokenizer.json")->required();
  cmd->add_option("--text", args->text, "Text to encode");
  cmd->add_option("-i,--input", args->input, "File whose bytes to encode");
  cmd->add_option("--chat", args->chat,
                  "Conversation JSON ({\"messages\": [...], \"add_generation_prompt\": bool, "
                  "\"enable_thinking\": bool}) rendered with Qwen3's chat template, then encoded");
  cmd->add_flag("--render-only", args->render_only, "With --chat: print the prompt, do not encode");
  cmd->add_option("--decode", args->decode, "Space-separated ids to decode to text");
  cmd->add_option("-f,--format", args->format, "Output: ids (default), json, tokens, count, none")
      ->check(CLI::IsMember({"ids", "json", "tokens", "count", "none"}));
  cmd->add_flag("--no-special", args->no_special, "Encode special-token text as plain text");
  cmd->add_option("-j,--threads", args->threads, "Encoding threads (same ids for any count)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--repeat", args->repeat, "Encode this many times, report the fastest")
      ->check(CLI::Range(1, 1000));
  cmd->add_flag("--stats", args->stats, "Print bytes, tokens and MB/s to stderr");
  cmd->callback([args] {
    const int sources = !args->text.empty() + !args->input.empty() + !args->chat.empty();
    if (args->decode.empty() && sources != 1)
      throw UsageError("give exactly one of --text, --input, --chat");
    ConsoleReporter reporter = console();
    run_tokenize(*args, reporter);
  });
}

}  // namespace tandem::cli
