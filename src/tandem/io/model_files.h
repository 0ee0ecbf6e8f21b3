#pragma once
// A model directory in the HF layout: config.json + model.safetensors with Qwen3 tensor names.
// Host-side only (vectors of floats); putting weights on a device is the caller's business.
#include <string>
#include <vector>

#include "tandem/model/config.h"
#include "tandem/model/param_layout.h"

namespace tandem {

struct HostModel {
  ModelConfig config;
  std::vector<float> params;  // ParamLayout(config) order
};

// Reads dir/config.json and dir/model.safetensors; every tensor of the layout must be present with
// its exact shape (F32, F16 or BF16), and no unknown tensor may be left over. Errors name the file
// and the tensor.
HostModel load_model_dir(const std::string& dir);
// One slab in the parameter layout, its tensors named prefix + HF name (e.g. "m." for a moment).
struct ParamSet {
  std::string prefix;
  float* data;
};
// Fills each set's slab from one safetensors file (weights, or both AdamW moments). The file must
// hold exactly these tensors with these shapes.
void read_param_sets(const std::string& path, const ParamLayout& layout,
                     const std::vector<ParamSet>& sets);
void write_param_sets(const std::string& path, const ParamLayout& layout,
                      const std::vector<ParamSet>& sets);
// Writes dir/config.json and dir/model.safetensors (creating dir).
void save_model_dir(const std::string& dir, const ModelConfig& config, const float* params);

}  // namespace tandem
