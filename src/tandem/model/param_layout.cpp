#include "tandem/model/param_layout.h"

#include <fmt/format.h>

namespace tandem {

ParamLayout::ParamLayout(const ModelConfig& cfg) {
  const int64_t V = cfg.vocab_size, C = cfg.hidden_size, D = cfg.head_dim,
                I = cfg.intermediate_size;
  const int64_t Q = int64_t(cfg.num_attention_heads) * D, KV = int64_t(cfg.num_key_value_heads) * D;
  auto add = [&](std::string name, std::vector<int64_t> shape) {
    ParamSpec p{std::move(name), std::move(shape), total, 1, false};
    for (int64_t s : p.shape) p.numel *= s;
    p.decay = p.shape.size() == 2;
    total += p.numel;
    tensors.push_back(std::move(p));
    return tensors.back().offset;
  };
  embed = add("model.embed_tokens.weight", {V, C});
  for (int l = 0; l < cfg.num_hidden_layers; ++l) {
    const std::string pre = fmt::format("model.layers.{}.", l);
    LayerOffsets o;
    o.input_norm = add(pre + "input_layernorm.weight", {C});
    o.q_proj = add(pre + "self_attn.q_proj.weight", {Q, C});
    o.k_proj = add(pre + "self_attn.k_proj.weight", {KV, C});
    o.v_proj = add(pre + "self_attn.v_proj.weight", {KV, C});
    o.o_proj = add(pre + "self_attn.o_proj.weight", {C, Q});
    o.q_norm = add(pre + "self_attn.q_norm.weight", {D});
    o.k_norm = add(pre + "self_attn.k_norm.weight", {D});
    o.post_norm = add(pre + "post_attention_layernorm.weight", {C});
    o.gate_proj = add(pre + "mlp.gate_proj.weight", {I, C});
    o.up_proj = add(pre + "mlp.up_proj.weight", {I, C});
    o.down_proj = add(pre + "mlp.down_proj.weight", {C, I});
    layers.push_back(o);
  }
  final_norm = add("model.norm.weight", {C});
  lm_head = cfg.tie_word_embeddings ? embed : add("lm_head.weight", {V, C});
}

const ParamSpec* ParamLayout::find(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace tandem
