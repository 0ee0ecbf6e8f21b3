#include "tandem/model/presets.h"

#include "tandem/core/error.h"

namespace tandem {

ModelConfig model_preset(const std::string& name, int vocab_size) {
  ModelConfig c;
  c.vocab_size = vocab_size;
  c.rms_norm_eps = 1e-6f;
  c.rope_theta = 10000.0f;  // short contexts: a small base keeps every RoPE frequency in use
  c.tie_word_embeddings = true;
  if (name == "demo") {  // ~0.8M parameters
    c.hidden_size = 128, c.num_hidden_layers = 4, c.num_attention_heads = 4;
    c.num_key_value_heads = 2, c.head_dim = 32, c.intermediate_size = 384;
    c.max_position_embeddings = 256;
  } else if (name == "25m") {  // the ~25M benchmark shape: d=512, 8 layers
    c.hidden_size = 512, c.num_hidden_layers = 8, c.num_attention_heads = 8;
    c.num_key_value_heads = 4, c.head_dim = 64, c.intermediate_size = 1536;
    c.max_position_embeddings = 512;
  } else {
    fail("unknown model preset '{}': expected demo or 25m", name);
  }
  return c;
}

}  // namespace tandem
