#pragma once
// A model directory as tandem's commands use it: the HF layout (config.json, model.safetensors)
// plus its tokenizer (tokenizer.json, tokenizer_config.json), so `generate`, `eval` and `serve`
// need nothing else.
#include <memory>
#include <string>

#include "tandem/backend/backend.h"
#include "tandem/model/transformer.h"
#include "tandem/model/weights.h"
#include "tandem/tokenizer/tokenizer.h"

namespace tandem {

// Model is ModelWeights for inference (one copy of the weights) or Transformer for training.
template <class Model>
struct Loaded {
  std::unique_ptr<Backend> backend;
  std::unique_ptr<Model> model;
  Tokenizer tokenizer;
};
using LoadedModel = Loaded<ModelWeights>;

// Errors name the directory and the missing or mismatched file.
LoadedModel load_model(const std::string& dir, const std::string& backend = "cpu");
Loaded<Transformer> load_trainable(const std::string& dir, const std::string& backend = "cpu");
void save_tokenizer(const Tokenizer& tok, const std::string& dir);
// tokenizer.json, given as the file or a folder holding it (and its tokenizer_config.json).
Tokenizer load_tokenizer(const std::string& path);
// The chat vocabulary of the demo models: 256 byte tokens plus chat_special_tokens().
Tokenizer demo_tokenizer();

}  // namespace tandem
