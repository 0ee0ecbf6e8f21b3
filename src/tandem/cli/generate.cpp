// tandem generate: complete prompts with a model directory (chat-formatted by default).
#include <cstdio>
#include <iostream>

#include "tandem/cli/commands.h"
#include "tandem/data/chat_format.h"
#include "tandem/model/generate.h"
#include "tandem/recipes/model_dir.h"

namespace tandem::cli {

void add_generate_command(CLI::App& app) {
  struct Args {
    std::string model, backend = "cpu";
    std::vector<std::string> prompts;
    bool raw = false, show_logprobs = false;
    int max_new_tokens = 256;
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
    if (!a->raw) gc.stop_tokens = {chat_stop_token(lm.tokenizer)};
    int max_prompt = 0;
    for (const auto& p : prompts) max_prompt = std::max(max_prompt, int(p.size()));
    const int max_len = std::min(lm.model->config().max_position_embeddings,
                                 max_prompt + a->max_new_tokens);
    Decoder decoder(*lm.model, std::max<int>(1, std::min<int>(16, int(prompts.size()))), max_len);
    const auto out = generate(decoder, prompts, gc);
    for (size_t i = 0; i < out.size(); ++i) {
      std::vector<int32_t> body = out[i].tokens;
      if (!a->raw && !body.empty() && body.back() == gc.stop_tokens[0]) body.pop_back();
      std::printf("%s%s\n", lm.tokenizer.decode(body).c_str(),
                  out[i].finish == Completion::Finish::Length ? " [length]" : "");
      if (a->show_logprobs)
        for (size_t t = 0; t < out[i].tokens.size(); ++t)
          std::printf("  %6d %-12s %.4f\n", out[i].tokens[t],
                      lm.tokenizer.token_text(out[i].tokens[t]).c_str(), out[i].logprobs[t]);
    }
  });
}

}  // namespace tandem::cli
