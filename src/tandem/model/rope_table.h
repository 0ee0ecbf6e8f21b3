#pragma once
#include <vector>

#include "tandem/model/config.h"

namespace tandem {

// cos/sin of pos * theta^(-2j/D) for pos < max_position_embeddings, j < D/2, laid out
// (pos, j, {cos, sin}) as backend rope kernels expect. Computed in double on the host once, so every
// backend rotates by the very same numbers.
std::vector<float> make_rope_table(const ModelConfig& cfg);

}  // namespace tandem
