#pragma once
// Small random models for tests that need a whole Transformer.
#include "tandem/model/config.h"

namespace tandem::testing {

inline ModelConfig tiny_config(int kv_heads = 2, bool tied = true) {
  ModelConfig c;
  c.vocab_size = 37;
  c.hidden_size = 32;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = kv_heads;
  c.head_dim = 16;
  c.intermediate_size = 48;
  c.rms_norm_eps = 1e-6f;
  c.rope_theta = 10000.0f;
  c.tie_word_embeddings = tied;
  c.max_position_embeddings = 64;
  return c;
}

}  // namespace tandem::testing
