#pragma once
// All parameters live in one contiguous slab (one for gradients, one per optimizer moment), in the
// order below, with HF Qwen3 names. Per-tensor views are offsets into the slab, so the optimizer
// step, the all-reduce, the norm and the checkpoint each become one loop over one layout.
#include <cstdint>
#include <string>
#include <vector>

#include "tandem/model/config.h"

namespace tandem {

struct ParamSpec {
  std::string name;            // HF name, e.g. "model.layers.3.self_attn.q_proj.weight"
  std::vector<int64_t> shape;  // HF layout: linear weights are (out_features, in_features)
  int64_t offset = 0;          // in floats, from the start of the slab
  int64_t numel = 0;
  bool decay = false;          // weight decay on matrices only, not on norm gains
};

// Offsets (in floats) of one block's tensors inside the slab.
struct LayerOffsets {
  int64_t input_norm;  // (C)
  int64_t q_proj;      // (Hq*D, C)
  int64_t k_proj;      // (Hkv*D, C)
  int64_t v_proj;      // (Hkv*D, C)
  int64_t o_proj;      // (C, Hq*D)
  int64_t q_norm;      // (D)
  int64_t k_norm;      // (D)
  int64_t post_norm;   // (C)
  int64_t gate_proj;   // (I, C)
  int64_t up_proj;     // (I, C)
  int64_t down_proj;   // (C, I)
};

struct ParamLayout {
  std::vector<ParamSpec> tensors;
  std::vector<LayerOffsets> layers;
  int64_t embed = 0;    // (V, C)
  int64_t final_norm = 0;  // (C)
  int64_t lm_head = 0;  // (V, C); equals embed when tied
  int64_t total = 0;    // floats in the slab

  explicit ParamLayout(const ModelConfig& cfg);
  const ParamSpec* find(const std::string& name) const;
};

}  // namespace tandem
