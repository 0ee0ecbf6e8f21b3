#pragma once
// A model directory in the HF layout: config.json + model.safetensors (or shards listed by
// model.safetensors.index.json, see io/weight_files.h) with Qwen3 tensor names, and optionally
// generation_config.json.
// Host-side only (vectors of floats); putting weights on a device is the caller's business.
#include <string>
#include <string_view>
#include <vector>

#include "tandem/model/config.h"
#include "tandem/model/param_layout.h"

namespace tandem {

struct HostModel {
  ModelConfig config;
  std::vector<float> params;  // ParamLayout(config) order
};

// Reads dir/config.json, dir/generation_config.json when present (bos/eos ids that config.json
// leaves unset) and the weights, single file or sharded; every tensor of the layout must be present
// with its exact shape (F32, F16 or BF16, whatever config.json's torch_dtype says), and no unknown
// tensor may be left over (a tied model may carry an ignored lm_head.weight). Errors name the file
// and the tensor.
HostModel load_model_dir(const std::string& dir);
// The config part of the above: config.json with generation_config.json merged in.
ModelConfig load_model_dir_config(const std::string& dir);
// The weights part of the above, into params (ParamLayout(config).total floats).
void read_model_weights(const std::string& dir, const ModelConfig& config, float* params);
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
// The same, as bytes in memory (weights sent to a server), and back; `where` names the bytes in
// errors ("POST /admin/weights").
std::string param_set_bytes(const ParamLayout& layout, const std::vector<ParamSet>& sets);
void read_param_bytes(std::string_view bytes, const std::string& where, const ParamLayout& layout,
                      const std::vector<ParamSet>& sets);
// Writes dir/config.json and dir/model.safetensors (creating dir).
void save_model_dir(const std::string& dir, const ModelConfig& config, const float* params);

}  // namespace tandem
