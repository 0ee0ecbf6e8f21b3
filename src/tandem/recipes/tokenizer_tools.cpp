#include "tandem/recipes/tokenizer_tools.h"

#include <fmt/format.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tandem/core/clock.h"
#include "tandem/core/error.h"
#include "tandem/core/json_text.h"
#include "tandem/io/file.h"
#include "tandem/tokenizer/chat_template.h"
#include "tandem/tokenizer/tokenizer.h"

namespace tandem {

namespace {
std::string format_ids(const Tokenizer& tok, const std::vector<int32_t>& ids,
                       const std::string& format) {
  if (format == "json") return json_text(nlohmann::json(ids));
  if (format == "count") return std::to_string(ids.size());
  if (format == "tokens") {
    nlohmann::json j = nlohmann::json::array();
    for (int32_t id : ids) j.push_back(tok.token_text(id));
    return json_text(j);
  }
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ' ';
    out += std::to_string(ids[i]);
  }
  return out;
}
}  // namespace

void run_tokenize(const TokenizeJob& job, Reporter& reporter) {
  // Rendering a chat prompt needs no vocabulary; skip the (large) tokenizer.json then.
  const Tokenizer tok = (job.render_only && !job.chat.empty()) ? Tokenizer::bytes_only({})
                                                               : Tokenizer::load(job.tokenizer);
  if (!job.decode.empty()) {
    std::vector<int32_t> ids;
    std::istringstream in(job.decode);
    for (long long v; in >> v;) ids.push_back(static_cast<int32_t>(v));
    reporter.result(tok.decode(ids));
    return;
  }
  std::string text;
  if (!job.chat.empty()) {
    ChatOptions opts;
    const auto j = parse_json_text(read_file(job.chat), /*allow_exceptions=*/false);
    TANDEM_CHECK(!j.is_discarded(), "{}: not valid JSON", job.chat);
    text = render_chat(chat_messages_from_json(j, job.chat, &opts), opts);
    if (job.render_only) {
      reporter.result(text);
      return;
    }
  } else {
    text = job.input.empty() ? job.text : read_file(job.input);
  }
  std::vector<int32_t> ids;
  double best = 1e30;
  for (int r = 0; r < job.repeat; ++r) {  // the fastest of `repeat` encodes, for --stats
    const auto t0 = Clock::now();
    ids = tok.encode_parallel(text, job.threads, !job.no_special);
    best = std::min(best, seconds_since(t0));
  }
  if (job.stats)
    reporter.note(fmt::format("bytes {} tokens {} seconds {:.6f} MB/s {:.2f} threads {}",
                              text.size(), ids.size(), best, text.size() / 1e6 / best, job.threads));
  if (job.format != "none") reporter.result(format_ids(tok, ids, job.format) + "\n");
}

void run_train_tokenizer(const TrainTokenizerJob& job, Reporter& reporter) {
  const Tokenizer tok = train_bpe_files(job.inputs, job.options);
  std::filesystem::create_directories(job.output);
  tok.save(job.output + "/tokenizer.json");
  tok.save_config(job.output + "/tokenizer_config.json");
  reporter.result(fmt::format("wrote {}/tokenizer.json: {} tokens ({} merges, {} special)\n",
                              job.output, tok.vocab_size(), tok.model().merges().size(),
                              tok.added_tokens().size()));
}

}  // namespace tandem
