#include "tandem/model/config.h"

#include "tandem/core/error.h"

namespace tandem {

int64_t ModelConfig::num_parameters() const {
  const int64_t C = hidden_size, D = head_dim, I = intermediate_size;
  const int64_t q = int64_t(num_attention_heads) * D, kv = int64_t(num_key_value_heads) * D;
  const int64_t per_layer = 2 * C + 2 * D + C * q + 2 * C * kv + q * C + 3 * C * I;
  return int64_t(vocab_size) * C * (tie_word_embeddings ? 1 : 2) + num_hidden_layers * per_layer + C;
}

void ModelConfig::validate(const std::string& where) const {
  auto positive = [&](const char* field, int value) {
    TANDEM_CHECK(value > 0, "{}: field '{}' must be a positive integer, got {}", where, field, value);
  };
  positive("vocab_size", vocab_size);
  positive("hidden_size", hidden_size);
  positive("num_hidden_layers", num_hidden_layers);
  positive("num_attention_heads", num_attention_heads);
  positive("num_key_value_heads", num_key_value_heads);
  positive("head_dim", head_dim);
  positive("intermediate_size", intermediate_size);
  positive("max_position_embeddings", max_position_embeddings);
  TANDEM_CHECK(num_attention_heads % num_key_value_heads == 0,
               "{}: field 'num_attention_heads' ({}) must be a multiple of 'num_key_value_heads' ({})",
               where, num_attention_heads, num_key_value_heads);
  TANDEM_CHECK(head_dim % 2 == 0, "{}: field 'head_dim' must be even for RoPE, got {}", where, head_dim);
  TANDEM_CHECK(rms_norm_eps > 0, "{}: field 'rms_norm_eps' must be positive, got {}", where, rms_norm_eps);
  TANDEM_CHECK(rope_theta > 0, "{}: field 'rope_theta' must be positive, got {}", where, rope_theta);
  TANDEM_CHECK(bos_token_id < vocab_size && eos_token_id < vocab_size,
               "{}: field 'eos_token_id'/'bos_token_id' must be below vocab_size ({})", where, vocab_size);
}

}  // namespace tandem
