#pragma once
// `tandem generate`: complete prompts with a model directory through the generation engine,
// chat-formatted unless raw, and show the text (with each token's log-probability if asked).
#include <string>
#include <vector>

#include "tandem/core/reporter.h"
#include "tandem/engine/sampler.h"

namespace tandem {

struct GenerateJob {
  std::string model_dir;
  std::string backend = "cpu";
  bool deterministic = false;  // batch-invariant kernels (Backend::set_batch_invariant)
  std::vector<std::string> prompts;
  bool raw = false;            // the prompt as is, instead of as a chat user turn
  bool show_logprobs = false;
  bool ignore_eos = false;     // always max_new_tokens
  bool timing = false;         // tokens, seconds, tokens/s and peak RSS of the engine's work
  int max_new_tokens = 256;
  int slots = 16;
  SamplingConfig sampling;
};

void run_generate(const GenerateJob& job, Reporter& reporter);

}  // namespace tandem
