#pragma once
// Tiny Qwen3 shapes for tests that need a whole model: one builder, so each test states only how
// its model differs from the common tiny one (and that difference is what the test is about).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "tandem/core/rng.h"
#include "tandem/model/config.h"

namespace tandem::test {

// What tests vary; each field defaults to the common tiny model: 2 layers of 4 query heads and
// 2 key/value heads of width 16, a 37-token vocabulary, a tied head.
struct TinyShape {
  int vocab = 37;
  int hidden = 32;
  int layers = 2;
  int heads = 4;
  int kv_heads = 2;
  int head_dim = 16;
  int intermediate = 48;
  int max_positions = 64;
  float rms_norm_eps = 1e-6f;
  float rope_theta = 10000.0f;
  bool tied = true;
};

// tiny_config() is the common tiny model; tiny_config({.kv_heads = 1, .tied = false}) a variant.
inline ModelConfig tiny_config(const TinyShape& s = {}) {
  ModelConfig c;
  c.vocab_size = s.vocab;
  c.hidden_size = s.hidden;
  c.num_hidden_layers = s.layers;
  c.num_attention_heads = s.heads;
  c.num_key_value_heads = s.kv_heads;
  c.head_dim = s.head_dim;
  c.intermediate_size = s.intermediate;
  c.rms_norm_eps = s.rms_norm_eps;
  c.rope_theta = s.rope_theta;
  c.tie_word_embeddings = s.tied;
  c.max_position_embeddings = s.max_positions;
  return c;
}

// n token ids in [0, V), a pure function of the seed.
inline std::vector<int32_t> random_tokens(int n, int V, uint64_t seed) {
  std::vector<int32_t> t(n);
  for (int i = 0; i < n; ++i) t[i] = int32_t(Rng(seed, 0).block(i)[0] % V);
  return t;
}

// Max |a - b| / max |b|: an error relative to the scale of b (logits, gradients).
inline double max_rel(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(double(a[i]) - b[i]));
    scale = std::max(scale, std::abs(double(b[i])));
  }
  return diff / scale;
}

}  // namespace tandem::test
