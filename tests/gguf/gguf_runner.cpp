// tandem's side of the llama.cpp parity test (llama_parity.mjs): exports and imports GGUF files
// through the CLI's jobs (recipes/gguf_convert.h), and prints what tandem computes as JSON for the
// script to compare.
//
//   gguf_runner export MODEL_DIR OUT.gguf TYPE        (tandem export --format gguf)
//   gguf_runner import FILE.gguf OUT_DIR              (tandem import --format gguf)
//   gguf_runner greedy MODEL_DIR PROMPTS TOKENS       arithmetic chat prompts, greedy tokens
//   gguf_runner tokenize MODEL_DIR [plain] < ["text", ...]   token ids of each text (special
//                                                     tokens parsed, unless "plain")
//   gguf_runner random-model TOKENIZER_JSON OUT_DIR   a small Qwen3-shaped model, random weights
//
// greedy prints {"prompts": [{"text", "ids", "greedy", "margins"}]}: the rendered chat prompt,
// its tokens, TOKENS argmax tokens (not stopped at <|im_end|>) and the top-1 minus top-2 logit
// gap at each step, which tells a real divergence from a near-tie when llama.cpp disagrees.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/test_models.h"
#include "tandem/core/error.h"
#include "tandem/core/rng.h"
#include "tandem/data/chat_format.h"
#include "tandem/data/tasks/task.h"
#include "tandem/io/model_files.h"
#include "tandem/model/decoder.h"
#include "tandem/recipes/gguf_convert.h"
#include "tandem/recipes/model_dir.h"
#include "tandem/tokenizer/chat_template.h"

using namespace tandem;
using nlohmann::json;

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: gguf_runner export DIR OUT TYPE | import FILE DIR | greedy DIR PROMPTS "
               "TOKENS | tokenize DIR [plain] | random-model TOKENIZER_JSON DIR\n");
  return 2;
}

// The chat text tandem feeds for a task prompt (what chat_prompt_tokens encodes).
std::string chat_text(const std::string& user) {
  std::string text = user;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  const ChatMessage msg{"user", text, std::nullopt};
  ChatOptions options;
  options.add_generation_prompt = true;
  return render_chat(std::span(&msg, 1), options);
}

int greedy(const std::string& dir, int n_prompts, int n_tokens) {
  LoadedModel lm = load_model(dir);
  const auto task = tasks::make_task("arithmetic");
  json out = json::array();
  for (int i = 0; i < n_prompts; ++i) {
    const int level = 1 + i % task->num_levels();
    const tasks::Problem p = task->sample(level, tasks::Split::Heldout, 7, uint64_t(i));
    const std::string text = chat_text(p.prompt);
    const std::vector<int32_t> ids = chat_prompt_tokens(lm.tokenizer, p.prompt);
    TANDEM_CHECK(ids == lm.tokenizer.encode(text), "prompt {}: chat text and tokens disagree", i);
    const int V = lm.model->config().vocab_size;
    Decoder dec(*lm.model, 1, int(ids.size()) + n_tokens);
    std::vector<float> logits = dec.prefill(0, ids);
    std::vector<int32_t> gen;
    std::vector<double> margins;
    for (int t = 0; t < n_tokens; ++t) {
      // Argmax, lowest id on ties (as llama.cpp's greedy sampler and tandem's sampler).
      int best = 0, second = -1;
      for (int v = 1; v < V; ++v) {
        if (logits[v] > logits[best]) {
          second = best;
          best = v;
        } else if (second < 0 || logits[v] > logits[second]) {
          second = v;
        }
      }
      gen.push_back(best);
      margins.push_back(double(logits[best]) - double(logits[second]));
      if (t + 1 == n_tokens) break;
      const int32_t tok = best;
      dec.decode(std::span(&tok, 1), {true}, logits.data());
    }
    out.push_back(
        {{"text", text}, {"level", level}, {"ids", ids}, {"greedy", gen}, {"margins", margins}});
  }
  std::cout << json{{"prompts", out}}.dump() << "\n";
  return 0;
}

int tokenize(const std::string& dir, bool allow_special) {
  const Tokenizer tok = Tokenizer::load(dir + "/tokenizer.json");
  const json texts = json::parse(std::cin);
  json out = json::array();
  for (const auto& t : texts) out.push_back(tok.encode(t.get<std::string>(), allow_special));
  std::cout << out.dump() << "\n";
  return 0;
}

// Weights drawn large enough (std 0.5 instead of the usual 0.02) that the logits are spread out
// and greedy decoding is not a string of near-ties; norm gains around 1.
int random_model(const std::string& tokenizer_json, const std::string& dir) {
  const Tokenizer tok = Tokenizer::load(tokenizer_json);
  ModelConfig c = test::tiny_config(
      {.vocab = (tok.vocab_size() + 255) / 256 * 256,  // padded rows, as Qwen3's own config
       .hidden = 32,  // the embedding and head are 2 x 151,808 rows: keep them narrow
       .intermediate = 64,
       .max_positions = 1024,
       .rope_theta = 1000000.0f,
       .tied = false});  // exercise output.weight too
  c.bos_token_id = tok.find_token("<|endoftext|>");
  c.eos_token_id = tok.eos_id();
  c.validate("random-model");
  const ParamLayout layout(c);
  std::vector<float> params(size_t(layout.total));
  for (size_t k = 0; k < layout.tensors.size(); ++k) {
    const ParamSpec& t = layout.tensors[k];
    const Rng rng(11, k);
    for (int64_t i = 0; i < t.numel; ++i) {
      const float z = rng.normal(uint64_t(i));
      params[size_t(t.offset + i)] = t.shape.size() == 1 ? 1.0f + 0.1f * z : 0.5f * z;
    }
  }
  save_model_dir(dir, c, params.data());
  save_tokenizer(tok, dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::vector<std::string> a(argv + 1, argv + argc);
    if (a.size() == 4 && a[0] == "export") return run_export_gguf(a[1], a[2], a[3]);
    if (a.size() == 3 && a[0] == "import") return run_import_gguf(a[1], a[2]);
    if (a.size() == 4 && a[0] == "greedy") return greedy(a[1], std::stoi(a[2]), std::stoi(a[3]));
    if (a.size() == 2 && a[0] == "tokenize") return tokenize(a[1], true);
    if (a.size() == 3 && a[0] == "tokenize" && a[2] == "plain") return tokenize(a[1], false);
    if (a.size() == 3 && a[0] == "random-model") return random_model(a[1], a[2]);
    return usage();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gguf_runner: %s\n", e.what());
    return 1;
  }
}
