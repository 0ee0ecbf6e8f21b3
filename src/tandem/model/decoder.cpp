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
}

void Decoder::plan(int n) {
  if (n <= capacity_) return;
  capacity_ = n;
  const int64_t C = cfg_.hidden_size, I = cfg_.intermediate_size, V = cfg_.vocab_size;
  const int64_t Q = int64_t(cfg_.num_attention_heads) * cfg_.head_dim;
  const int64_t KV = int64_t(cfg_.num_key_value_heads) * cfg_.head_dim;
  auto buf = [&](int64_t floats) { return DeviceBuffer(be_, floats * sizeof(float)); };
  ids_ = buf(n), pos_ = buf(n), slot_ = buf(n), lens_ = buf(n);
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

void Decoder::run(int n, const int32_t* ids, const int32_t* slot, const int32_t* pos,
                  const std::vector<bool>& write) {
  plan(n);
  const ParamLayout& L = model_.layout();
  const float* P = model_.params();
  const int C = cfg_.hidden_size, D = cfg_.head_dim;
  const int Hq = cfg_.num_attention_heads, Hkv = cfg_.num_key_value_heads;
  const float scale = 1.0f / std::sqrt(float(D));
  const size_t row_kv = size_t(Hkv) * D, slot_kv = size_t(max_len_) * row_kv;
  std::vector<int32_t> lens(n);
  for (int i = 0; i < n; ++i) lens[i] = pos[i] + 1;  // causal: up to and including itself
  be_.to_device(ids_.as(), ids, n * sizeof(int32_t));
  be_.to_device(pos_.as(), pos, n * sizeof(int32_t));
  be_.to_device(slot_.as(), slot, n * sizeof(int32_t));
  be_.to_device(lens_.as(), lens.data(), n * sizeof(int32_t));
  // Rows of one slot at consecutive positions (a prompt chunk) go to the cache in one copy.
  bool contiguous = true;
  for (int i = 1; i < n; ++i) contiguous &= slot[i] == slot[0] && pos[i] == pos[0] + i && write[i];
  int layer = 0;
  const AttentionStep attend = [&](const BlockActs& a) {
    float* kc = k_cache_[layer].as();
    float* vc = v_cache_[layer].as();
    auto put = [&](int i, int rows) {
      const size_t at = slot[i] * slot_kv + pos[i] * row_kv, bytes = rows * row_kv * sizeof(float);
      be_.copy(kc + at, a.k + i * row_kv, bytes);
      be_.copy(vc + at, a.v + i * row_kv, bytes);
    };
    if (contiguous && write[0]) put(0, n);
    else
      for (int i = 0; i < n; ++i)
        if (write[i]) put(i, 1);
    be_.attention_decode(a.att, a.q, kc, vc, slot_.as<int32_t>(), lens_.as<int32_t>(), n, slots_,
                         max_len_, Hq, Hkv, D, scale);
  };
  be_.embedding_forward(x_.as(), ids_.as<int32_t>(), P + L.embed, n, C);
  const BlockActs acts = scratch_acts();
  for (layer = 0; layer < cfg_.num_hidden_layers; ++layer)
    block_forward(model_, layer, acts, pos_.as<int32_t>(), n, attend);
  be_.rmsnorm_forward(ln_.as(), rstd_.as(), x_.as(), P + L.final_norm, n, C, cfg_.rms_norm_eps);
}

std::vector<float> Decoder::prefill(int slot, std::span<const int32_t> tokens, int start) {
  TANDEM_CHECK(slot >= 0 && slot < slots_, "[prefill] slot {} outside [0, {})", slot, slots_);
  const int n = int(tokens.size());
  TANDEM_CHECK(start >= 0 && start <= len_[slot],
               "[prefill] slot {} holds {} tokens; cannot continue at position {}", slot,
               len_[slot], start);
  TANDEM_CHECK(n > 0 && start + n <= max_len_,
               "[prefill] {} tokens from position {} do not fit a slot of {}", n, start, max_len_);
  std::vector<int32_t> pos(n), slots(n, slot);
  for (int i = 0; i < n; ++i) pos[i] = start + i;
  run(n, tokens.data(), slots.data(), pos.data(), std::vector<bool>(n, true));
  len_[slot] = start + n;
  const int C = cfg_.hidden_size, V = cfg_.vocab_size;
  // Only the last row predicts the next token: one (1, C) x (C, V) product.
  linear_forward(be_, logits_.as(), ln_.as() + size_t(n - 1) * C,
                 model_.params() + model_.layout().lm_head, 1, C, V);
  std::vector<float> logits(V);
  be_.to_host(logits.data(), logits_.as(), V * sizeof(float));
  return logits;
}

void Decoder::copy_prefix(int from, int to, int n) {
  TANDEM_CHECK(from >= 0 && from < slots_ && to >= 0 && to < slots_ && n >= 0 && n <= len_[from],
               "[copy_prefix] slot {} holds {} tokens; cannot copy {} into slot {}", from,
               len_[from], n, to);
  const size_t row_kv = size_t(cfg_.num_key_value_heads) * cfg_.head_dim;
  const size_t slot_kv = size_t(max_len_) * row_kv, bytes = size_t(n) * row_kv * sizeof(float);
  for (int l = 0; l < cfg_.num_hidden_layers; ++l) {
    be_.copy(k_cache_[l].as<float>() + to * slot_kv, k_cache_[l].as<float>() + from * slot_kv, bytes);
    be_.copy(v_cache_[l].as<float>() + to * slot_kv, v_cache_[l].as<float>() + from * slot_kv, bytes);
  }
  len_[to] = n;
}

void Decoder::decode(std::span<const int32_t> tokens, const std::vector<bool>& active,
                     float* logits) {
  TANDEM_CHECK(int(tokens.size()) == slots_ && int(active.size()) == slots_,
               "[decode] expected one token and one flag per slot ({})", slots_);
  std::vector<int32_t> pos(slots_), ids(tokens.begin(), tokens.end()), slot(slots_);
  for (int s = 0; s < slots_; ++s) {
    slot[s] = s;
    if (active[s]) {
      TANDEM_CHECK(len_[s] > 0, "[decode] slot {} was not prefilled", s);
      TANDEM_CHECK(len_[s] < max_len_, "[decode] slot {} is full ({} tokens)", s, max_len_);
      pos[s] = len_[s];
    } else {
      ids[s] = 0, pos[s] = 0;  // a filler row: computed, never written to the cache, discarded
    }
  }
  run(slots_, ids.data(), slot.data(), pos.data(), active);
  const int C = cfg_.hidden_size, V = cfg_.vocab_size;
  linear_forward(be_, logits_.as(), ln_.as(), model_.params() + model_.layout().lm_head, slots_, C,
                 V);
  be_.to_host(logits, logits_.as(), size_t(slots_) * V * sizeof(float));
  for (int s = 0; s < slots_; ++s)
    if (active[s]) ++len_[s];
}

float Decoder::token_logprob(std::span<const float> logits, int32_t token) {
  const int V = cfg_.vocab_size;
  TANDEM_CHECK(int(logits.size()) == V, "[token_logprob] expected {} logits, got {}", V,
               logits.size());
  TANDEM_CHECK(token >= 0 && token < V, "[token_logprob] token {} outside the vocabulary [0, {})",
               token, V);
  if (!lp_logits_.bytes()) {
    lp_logits_ = DeviceBuffer(be_, size_t(V) * sizeof(float));
    lp_target_ = DeviceBuffer(be_, sizeof(int32_t));
    lp_nll_ = DeviceBuffer(be_, 2 * sizeof(float));
  }
  be_.to_device(lp_logits_.as(), logits.data(), size_t(V) * sizeof(float));
  be_.to_device(lp_target_.as(), &token, sizeof(int32_t));
  float* nll = lp_nll_.as();
  be_.cross_entropy_forward(nll, nll + 1, lp_logits_.as(), lp_target_.as<int32_t>(), 1, V);
  float host = 0;
  be_.to_host(&host, nll, sizeof(float));
  return -host;
}

}  // namespace tandem
