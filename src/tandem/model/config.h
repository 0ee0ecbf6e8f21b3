#pragma once
// Model shape, with the field names of an HF Qwen3 config.json (io/config_json.h reads and writes
// the file; this layer knows nothing of files).
#include <cstdint>
#include <string>

namespace tandem {

struct ModelConfig {
  int vocab_size = 0;               // V
  int hidden_size = 0;              // C
  int num_hidden_layers = 0;        // L
  int num_attention_heads = 0;      // Hq
  int num_key_value_heads = 0;      // Hkv; Hq % Hkv == 0
  int head_dim = 0;                 // D (Qwen3 sets it explicitly; not always C / Hq)
  int intermediate_size = 0;        // I, SwiGLU width
  float rms_norm_eps = 1e-6f;
  float rope_theta = 1000000.0f;
  bool tie_word_embeddings = true;  // lm_head shares model.embed_tokens.weight
  int max_position_embeddings = 0;  // longest sequence (RoPE table size)
  int bos_token_id = -1;            // optional in config.json; -1 when absent
  int eos_token_id = -1;

  int64_t num_parameters() const;
  // Throws tandem::Error naming the first inconsistent field (prefixed by `where`, e.g. a path).
  void validate(const std::string& where) const;
};

}  // namespace tandem
