// tandem tokenize: encode text (or a chat conversation) to token ids, or decode ids to text.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tandem/cli/commands.h"
#include "tandem/core/error.h"
#include "tandem/tokenizer/chat_template.h"
#include "tandem/tokenizer/tokenizer.h"

namespace tandem::cli {
namespace {
struct TokenizeArgs {
  std::string tokenizer, text, input, chat, decode, format = "ids";
  bool no_special = false, render_only = false, stats = false;
  int threads = 1, repeat = 1;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(fmt::format("cannot open {}", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void run(const TokenizeArgs& a) {
  // Rendering a chat prompt needs no vocabulary; skip the (large) tokenizer.json then.
  const Tokenizer tok = (a.render_only && !a.chat.empty()) ? Tokenizer::bytes_only({})
                                                           : Tokenizer::load(a.tokenizer);
  if (!a.decode.empty()) {
    std::vector<int32_t> ids;
    std::istringstream in(a.decode);
    for (long long v; in >> v;) ids.push_back(static_cast<int32_t>(v));
    const std::string text = tok.decode(ids);
    std::fwrite(text.data(), 1, text.size(), stdout);
    return;
  }
  std::string text;
  int sources = !a.text.empty() + !a.input.empty() + !a.chat.empty();
  if (sources != 1) throw UsageError("give exactly one of --text, --input, --chat");
  if (!a.chat.empty()) {
    ChatOptions opts;
    const auto j = nlohmann::json::parse(read_file(a.chat), nullptr, false);
    if (j.is_discarded()) throw UsageError(fmt::format("{}: not valid JSON", a.chat));
    const auto messages = chat_messages_from_json(j, a.chat, &opts);
    text = render_chat(messages, opts);
    if (a.render_only) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      return;
    }
  } else {
    text = a.input.empty() ? a.text : read_file(a.input);
  }
  std::vector<int32_t> ids;
  double best = 1e30;
  for (int r = 0; r < a.repeat; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    ids = tok.encode_parallel(text, a.threads, !a.no_special);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  if (a.stats) {
    std::fprintf(stderr, "bytes %zu tokens %zu seconds %.6f MB/s %.2f threads %d\n", text.size(),
                 ids.size(), best, text.size() / 1e6 / best, a.threads);
  }
  if (a.format == "none") return;
  std::string out;
  if (a.format == "json") {
    out = nlohmann::json(ids).dump();
  } else if (a.format == "count") {
    out = std::to_string(ids.size());
  } else if (a.format == "tokens") {
    nlohmann::json j = nlohmann::json::array();
    for (int32_t id : ids) j.push_back(tok.token_text(id));
    out = j.dump();
  } else {
    for (size_t i = 0; i < ids.size(); ++i) out += (i ? " " : "") + std::to_string(ids[i]);
  }
  out += "\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
}
}  // namespace

void add_tokenize_command(CLI::App& app) {
  auto args = std::make_shared<TokenizeArgs>();
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
  cmd->callback([args] { run(*args); });
}

}  // namespace tandem::cli
