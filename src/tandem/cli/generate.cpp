// tandem generate: complete prompts with a model directory (recipes/generation.h).
#include <iostream>

#include "tandem/backend/backend.h"
#include "tandem/cli/commands.h"
#include "tandem/cli/flags.h"
#include "tandem/recipes/generation.h"

namespace tandem::cli {

void add_generate_command(CLI::App& app) {
  auto a = std::make_shared<GenerateJob>();
  auto* cmd = app.add_subcommand("generate", "Complete prompts with a model (KV-cache decoding)");
  cmd->add_option("model", a->model_dir,
                  "Model directory (config.json, model.safetensors, tokenizer.json)")
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
  cmd->add_option("--seed", a->sampling.seed, "Sampling seed: same seed, same text")
      ->capture_default_str();
  cmd->add_flag("--logprobs", a->show_logprobs, "Print each token's log-probability");
  cmd->add_flag("--ignore-eos", a->ignore_eos,
                "Do not stop at end of turn: always --max-new-tokens");
  cmd->add_option("--slots", a->slots, "Sequences decoded together (continuous batching)")
      ->capture_default_str()->check(kPositive);
  cmd->add_flag("--timing", a->timing,
                "Print generated tokens, seconds, tokens/s and peak RSS to stderr");
  cmd->add_flag("--deterministic", a->deterministic,
                "Batch-invariant kernels (CPU): a row's results do not depend on the rows beside it");
  cmd->add_option("--backend", a->backend, "Device backend: " + backend_choices())
      ->capture_default_str();
  cmd->callback([a] {
    if (a->prompts.empty())
      for (std::string line; std::getline(std::cin, line);) a->prompts.push_back(line);
    ConsoleReporter reporter = console();
    run_generate(*a, reporter);
  });
}

}  // namespace tandem::cli
