#include "tandem/model/decoder.h"

#include <cmath>

#include "tandem/core/error.h"

namespace tandem {

Decoder::Decoder(const ModelWeights& model, int slots, int max_len)
    : model_(model), be_(model.backend()), cfg_(model.config()), slots_(slots), max_len_(max_len),
      len_(slots, 0) {
  TANDEM_CHECK(slots > 0, "[decoder] slots must be positive, got {}", slots);
  TANDEM_CHECK(max_len > 0 && max_len <= cfg_.max_position_embeddings,
               "[decoder] max_len {} must be in [1, max_position_embeddings = {}]", max_len,
               cfg_.max_position_embeddings);
  const size_t cache = size_t(slots) * max_len * cfg_.num_key_value_heads * cfg_.head_dim;
  for (int l = 0; l < cfg_.num_hidden_layers; ++l) {
    k_cache_.emplace_back(be_, cache * sizeof(float));
    v_cache_.emplace_back(be_, cache * sizeof(float));
  }
  lens_ = DeviceBuffer(be_, slots * sizeof(int32_t));
}

void Decoder::plan(int n) {
  if (n <= capacity_) return;
  capacity_ = n;
  const int64_t C = cfg_.hidden_size, I = cfg_.intermediate_size, V = cfg_.vocab_size;
  const int64_t Q = int64_t(cfg_.num_attention_heads) * cfg_.head_dim;
  const int64_t KV = int64_t(cfg_.num_key_value_heads) * cfg_.head_dim;
  auto buf = [&](int64_t floats) { return DeviceBuffer(be_, floats * sizeof(float)); };
  ids_ = buf(n), pos_ = buf(n);
  x_ = buf(n * C), ln_ = buf(n * C), rstd_ = buf(n * std::max<int64_t>(cfg_.num_attention_heads, 1));
  q_ = buf(n * Q), qr_ = buf(n * Q), k_ = buf(n * KV), kr_ = buf(n * KV), v_ = buf(n * KV);
  att_ = buf(n * Q), lse_ = buf(n * cfg_.num_attention_heads);
  gate_ = buf(n * I), up_ = buf(n * I), logits_ = buf(n * V);
}

BlockActs Decoder::scratch_acts() const {
  float* x = x_.as();
  float* rstd = rstd_.as();  // no backward: every norm may overwrite the same rstd
  return {x,        ln_.as(),  rstd,       qr_.as(),  q_.as(), rstd,     kr_.as(),
          k_.as(),  rstd,      v_.as(),    att_.as(), lse_.as(), x,      ln_.as(),
          rstd,     gate_.as(), up_.as(),  gate_.as(), x};
}

void Decoder::run(int n, const int32_t* ids, const int32_t* slot, const int32_t* pos, bool prefill) {
  plan(n);
  const ParamLayout& L = model_.layout();
  const float* P = model_.params();
  const int C = cfg_.hidden_size, D = cfg_.head_dim;
  const int Hq = cfg_.num_attention_heads, Hkv = cfg_.num_key_value_heads;
  const float scale = 1.0f / std::sqrt(float(D));
  const size_t row_kv = size_t(Hkv) * D, slot_kv = size_t(max_len_) * row_kv;
  be_.to_device(ids_.as(), ids, n * sizeof(int32_t));
  be_.to_device(pos_.as(), pos, n * sizeof(int32_t));
  int layer = 0;
  const AttentionStep attend = [&](const BlockActs& a) {
    float* kc = k_cache_[layer].as();
    float* vc = v_cache_[layer].as();
    if (prefill) {  // one sequence, positions 0..n-1, contiguous in its slot
      be_.copy(kc + slot[0] * slot_kv, a.k, n * row_kv * sizeof(float));
      be_.copy(vc + slot[0] * slot_kv, a.v, n * row_kv * sizeof(float));
      be_.attention_forward(a.att, a.lse, a.q, a.k, a.v, 1, n, Hq, Hkv, D, scale);
    } else {  // row i is slot i (n == slots)
      for (int i = 0; i < n; ++i) {
        be_.copy(kc + i * slot_kv + pos[i] * row_kv, a.k + i * row_kv, row_kv * sizeof(float));
        be_.copy(vc + i * slot_kv + pos[i] * row_kv, a.v + i * row_kv, row_kv * sizeof(float));
      }
      be_.attention_decode(a.att, a.q, kc, vc, lens_.as<int32_t>(), n, max_len_, Hq, Hkv, D,
                           scale);
    }
  };
  be_.embedding_forward(x_.as(), ids_.as<int32_t>(), P + L.embed, n, C);
  const BlockActs acts = scratch_acts();
  for (layer = 0; layer < cfg_.num_hidden_layers; ++layer)
    block_forward(model_, layer, acts, pos_.as<int32_t>(), n, attend);
  be_.rmsnorm_forward(ln_.as(), rstd_.as(), x_.as(), P + L.final_norm, n, C, cfg_.rms_norm_eps);
}

std::vector<float> Decoder::prefill(int slot, std::span<const int32_t> prompt) {
  TANDEM_CHECK(slot >= 0 && slot < slots_, "[prefill] slot {} outside [0, {})", slot, slots_);
  const int n = int(prompt.size());
  TANDEM_CHECK(n > 0 && n <= max_len_, "[prefill] prompt of {} tokens does not fit 1..{}", n,
               max_len_);
  std::vector<int32_t> pos(n), slots(n, slot);
  for (int i = 0; i < n; ++i) pos[i] = i;
  run(n, prompt.data(), slots.data(), pos.data(), /*prefill=*/true);
  len_[slot] = n;
  const int C = cfg_.hidden_size, V = cfg_.vocab_size;
  // Only the last row predicts the next token: one (1, C) x (C, V) product.
  linear_forward(be_, logits_.as(), ln_.as() + size_t(n - 1) * C,
                 model_.params() + model_.layout().lm_head, 1, C, V);
  std::vector<float> logits(V);
  be_.to_host(logits.data(), logits_.as(), V * sizeof(float));
  return logits;
}

void Decoder::decode(std::span<const int32_t> tokens, const std::vector<bool>& active,
                     float* logits) {
  TANDEM_CHECK(int(tokens.size()) == slots_ && int(active.size()) == slots_,
               "[decode] expected one token and one flag per slot ({})", slots_);
  std::vector<int32_t> pos(slots_), lens(slots_), ids(tokens.begin(), tokens.end()), slot(slots_);
  for (int s = 0; s < slots_; ++s) {
    slot[s] = s;
    if (active[s]) {
      TANDEM_CHECK(len_[s] > 0, "[decode] slot {} was not prefilled", s);
      TANDEM_CHECK(len_[s] < max_len_, "[decode] slot {} is full ({} tokens)", s, max_len_);
      pos[s] = len_[s], lens[s] = len_[s] + 1;
    } else {
      ids[s] = 0, pos[s] = 0, lens[s] = 1;  // harmless filler; the slot's cache is not advanced
    }
  }
  // An inactive slot's filler writes position 0 of its own cache: only a slot about to be
  // prefilled again can be inactive, and prefill rewrites that position.
  be_.to_device(lens_.as(), lens.data(), slots_ * sizeof(int32_t));
  run(slots_, ids.data(), slot.data(), pos.data(), /*prefill=*/false);
  const int C = cfg_.hidden_size, V = cfg_.vocab_size;
  linear_forward(be_, logits_.as(), ln_.as(), model_.params() + model_.layout().lm_head, slots_, C,
                 V);
  be_.to_host(logits, logits_.as(), size_t(slots_) * V * sizeof(float));
  for (int s = 0; s < slots_; ++s)
    if (active[s]) ++len_[s];
}

}  // namespace tandem
