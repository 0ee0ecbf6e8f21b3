#pragma once
// A tiny random model over the demo chat vocabulary (bytes + chat tokens), its weights scaled up
// so its distributions are sharp and completions are not uniform noise: what the server tests
// serve.
#include <memory>

#include "support/test_models.h"
#include "tandem/backend/backend.h"
#include "tandem/model/weights.h"
#include "tandem/recipes/model_dir.h"

namespace tandem::test {

struct ServedModel {
  std::unique_ptr<Backend> be = make_backend("cpu");
  Tokenizer tok = demo_tokenizer();
  ModelWeights model;
  explicit ServedModel(int max_positions, uint64_t seed = 7)
      : model(*be, tiny_config({.vocab = 261, .max_positions = max_positions})) {
    model.init_random(seed);
    auto p = model.read_params();
    for (auto& x : p) x *= 5.0f;
    model.load_params(p);
  }
};

}  // namespace tandem::test
