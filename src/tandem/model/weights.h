#pragma once
// A model's weights on a device: the parameter slab (ParamLayout order, HF names) and the RoPE
// table, built once. This is all inference needs: generation, evaluation and serving hold one
// ModelWeights; training adds gradients and activations on top of it (transformer.h).
#include <cstdint>
#include <span>
#include <vector>

#include "tandem/backend/backend.h"
#include "tandem/model/config.h"
#include "tandem/model/param_layout.h"

namespace tandem {

class ModelWeights {
 public:
  // Validates the config; parameters start at zero (init_random or load_params fill them).
  ModelWeights(Backend& backend, const ModelConfig& config);
  ModelWeights(ModelWeights&&) = default;
  ModelWeights& operator=(ModelWeights&&) = default;
  virtual ~ModelWeights() = default;

  const ModelConfig& config() const { return cfg_; }
  const ParamLayout& layout() const { return layout_; }
  Backend& backend() const { return *be_; }
  float* params() const { return params_.as<float>(); }  // device, layout().total floats
  // (max_position_embeddings, head_dim / 2, {cos, sin}) on the device, as rope kernels take it.
  const float* rope_table() const { return rope_.as<float>(); }

  // Matrices ~ N(0, 0.02), norm gains 1; a pure function of the seed (counter-based RNG).
  void init_random(uint64_t seed);
  void load_params(std::span<const float> host);  // layout().total floats
  std::vector<float> read_params() const;

 private:
  Backend* be_;
  ModelConfig cfg_;
  ParamLayout layout_;
  DeviceBuffer params_, rope_;
};

}  // namespace tandem
