#include "tandem/model/rope_table.h"

#include <cmath>

namespace tandem {

std::vector<float> make_rope_table(const ModelConfig& cfg) {
  const int half = cfg.head_dim / 2;
  std::vector<float> table(size_t(cfg.max_position_embeddings) * half * 2);
  for (int pos = 0; pos < cfg.max_position_embeddings; ++pos)
    for (int j = 0; j < half; ++j) {
      const double inv_freq = std::pow(double(cfg.rope_theta), -2.0 * j / cfg.head_dim);
      const double angle = pos * inv_freq;
      table[(size_t(pos) * half + j) * 2] = float(std::cos(angle));
      table[(size_t(pos) * half + j) * 2 + 1] = float(std::sin(angle));
    }
  return table;
}

}  // namespace tandem
