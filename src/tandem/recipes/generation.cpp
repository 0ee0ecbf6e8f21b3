#include "tandem/recipes/generation.h"

#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>

#include "tandem/core/clock.h"
#include "tandem/data/chat_format.h"
#include "tandem/engine/generate.h"
#include "tandem/recipes/model_dir.h"

namespace tandem {

namespace {
double peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);  // ru_maxrss: kilobytes on Linux
  return double(ru.ru_maxrss) / 1024.0;
}
// Pads to `width` bytes, as this table always has (fmt pads to characters).
std::string pad_bytes(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}
}  // namespace

void run_generate(const GenerateJob& job, Reporter& reporter) {
  LoadedModel lm = load_model(job.model_dir, job.backend);
  if (job.deterministic) lm.backend->set_batch_invariant(true);
  std::vector<std::vector<int32_t>> prompts;
  for (const auto& t : job.prompts)
    prompts.push_back(job.raw ? lm.tokenizer.encode(t) : chat_prompt_tokens(lm.tokenizer, t));
  GenerationConfig gc;
  gc.max_new_tokens = job.max_new_tokens;
  gc.sampling = job.sampling;
  if (!job.raw && !job.ignore_eos) gc.stop_tokens = {chat_stop_token(lm.tokenizer)};
  int max_prompt = 0;
  for (const auto& p : prompts) max_prompt = std::max(max_prompt, int(p.size()));
  const int max_len = std::min(lm.model->config().max_position_embeddings,
                               max_prompt + job.max_new_tokens);
  const auto start = Clock::now();
  Decoder decoder(*lm.model, std::max<int>(1, std::min<int>(job.slots, int(prompts.size()))),
                  max_len);
  Engine engine(decoder, &lm.tokenizer);
  const auto out = generate(engine, prompts, gc);
  if (job.timing) {  // model loading and tokenizing are left out: this times the engine
    const double s = seconds_since(start);
    size_t prompt_tokens = 0, generated = 0;
    for (const auto& p : prompts) prompt_tokens += p.size();
    for (const auto& c : out) generated += c.tokens.size();
    reporter.note(fmt::format("timing: {} prompts, {} prompt tokens, {} generated tokens in {:.3f} "
                              "s: {:.1f} tokens/s; peak RSS {:.1f} MB",
                              prompts.size(), prompt_tokens, generated, s, double(generated) / s,
                              peak_rss_mb()));
  }
  for (const Completion& c : out) {
    std::string text = c.text + (c.finish == Completion::Finish::Length ? " [length]" : "") + "\n";
    if (job.show_logprobs)
      for (size_t t = 0; t < c.tokens.size(); ++t)
        text += fmt::format("  {:6} {} {:.4f}\n", c.tokens[t],
                            pad_bytes(lm.tokenizer.token_text(c.tokens[t]), 12), c.logprobs[t]);
    reporter.result(text);
  }
}

}  // namespace tandem
