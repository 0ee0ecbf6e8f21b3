// tandem generate: complete prompts with a model directory (chat-formatted by default).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "tandem/cli/commands.h"
#include "tandem/data/chat_format.h"
#include "tandem/engine/generate.h"
#include "tandem/recipes/model_dir.h"

namespace tandem::cli {

void add_generate_command(CLI::App& app) {
  struct Args {
    std::string model, backend = "cpu";
    std::vector<std::string> prompts;
    bool raw = false, show_logprobs = false, ignore_eos = false, timing = false;
    int max_new_tokens = 256, slots = 16;
    SamplingConfig sampling;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("generate", "Complete prompts with a model (KV-cache decoding)");
  cmd->add_option("model", a->model, "Model directory (config.json, model.safetensors, tokenizer.json)")
      ->required();
  cmd->add_option("-p,--prompt", a->prompts, "Prompt text (repeatable; default: one per stdin line)");
  cmd->add_flag("--raw", a->raw, "Feed the prompt as is instead of as a chat user turn");
  cmd->add_option("--max-new-tokens", a->max_new_tokens, "Tokens to generate at most")
      ->capture_default_str()->check(kPositive);
  cmd->add_option("--temperature", a->sampling.temperature, "0: greedy")->capture_default_str()
      ->check(kNonNegative);
  cmd->add_option("--top-k", a->sampling.top_k, "Sample among the k most likely (0: all)")
      ->capture_default_str()->check(kNonNegative);
  cmd->add_option("--top-p", a->sampling.top_p, "Nucleus mass")->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--seed", a->sampling.seed, "Sampling seed: same seed, same text")->capture_default_str();
  cmd->add_flag("--logprobs", a->show_logprobs, "Print each token's log-probability");
  cmd->add_flag("--ignore-eos", a->ignore_eos,
                "Do not stop at end of turn: always --max-new-tokens");
  cmd->add_option("--slots", a->slots, "Sequences decoded together (continuous batching)")
      ->capture_default_str()->check(kPositive);
  cmd->add_flag("--timing", a->timing,
                "Print generated tokens, seconds, tokens/s and peak RSS to stderr");
  cmd->add_option("--backend", a->backend, "cpu or cuda")->capture_default_str();
  cmd->callback([a] {
    LoadedModel lm = load_model(a->model, a->backend);
    std::vector<std::string> texts = a->prompts;
    if (texts.empty())
      for (std::string line; std::getline(std::cin, line);) texts.push_back(line);
    std::vector<std::vector<int32_t>> prompts;
    for (const auto& t : texts)
      prompts.push_back(a->raw ? lm.tokenizer.encode(t) : chat_prompt_tokens(lm.tokenizer, t));
    GenerationConfig gc;
    gc.max_new_tokens = a->max_new_tokens;
    gc.sampling = a->sampling;
    if (!a->raw && !a->ignore_eos) gc.stop_tokens = {chat_stop_token(lm.tokenizer)};
    int max_prompt = 0;
    for (const auto& p : prompts) max_prompt = std::max(max_prompt, int(p.size()));
    const int max_len = std::min(lm.model->config().max_position_embeddings,
                                 max_prompt + a->max_new_tokens);
    const auto start = std::chrono::steady_clock::now();
    Decoder decoder(*lm.model, std::max<int>(1, std::min<int>(a->slots, int(prompts.size()))),
                    max_len);
    Engine engine(decoder, &lm.tokenizer);
    const auto out = generate(engine, prompts, gc);
    if (a->timing) {  // model loading and tokenizing are left out: this times the engine
      const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
      const double s = took.count();
      size_t prompt_tokens = 0, generated = 0;
      for (const auto& p : prompts) prompt_tokens += p.size();
      for (const auto& c : out) generated += c.tokens.size();
      rusage ru{};
      getrusage(RUSAGE_SELF, &ru);  // ru_maxrss: kilobytes on Linux
      std::fprintf(stderr,
                   "timing: %zu prompts, %zu prompt tokens, %zu generated tokens in %.3f s: "
                   "%.1f tokens/s; peak RSS %.1f MB\n",
                   prompts.size(), prompt_tokens, generated, s, double(generated) / s,
                   double(ru.ru_maxrss) / 1024.0);
    }
    for (size_t i = 0; i < out.size(); ++i) {
      std::printf("%s%s\n", out[i].text.c_str(),
                  out[i].finish == Completion::Finish::Length ? " [length]" : "");
      if (a->show_logprobs)
        for (size_t t = 0; t < out[i].tokens.size(); ++t)
          std::printf("  %6d %-12s %.4f\n", out[i].tokens[t],
                      lm.tokenizer.token_text(out[i].tokens[t]).c_str(), out[i].logprobs[t]);
    }
  });
}

}  // namespace tandem::cli
