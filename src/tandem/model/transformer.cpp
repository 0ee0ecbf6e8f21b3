#include "tandem/model/transformer.h"

#include <cmath>

#include "tandem/core/error.h"

namespace tandem {

Transformer::Transformer(Backend& backend, const ModelConfig& config)
    : ModelWeights(backend, config) {}

Transformer::Transformer(ModelWeights&& weights) : ModelWeights(std::move(weights)) {}

float* Transformer::grads() const {
  if (!grads_.as()) grads_ = DeviceBuffer(backend(), layout().total * sizeof(float));
  return grads_.as<float>();
}

std::vector<float> Transformer::read_grads() const {
  std::vector<float> host(layout().total);
  backend().to_host(host.data(), grads(), host.size() * sizeof(float));
  return host;
}

void Transformer::zero_grads() { backend().fill(grads(), 0.0f, layout().total); }

void Transformer::plan(int B, int T) {
  const ModelConfig& c = config();
  TANDEM_CHECK(B > 0 && T > 0, "[forward] batch {}x{} must be positive", B, T);
  B_ = B, T_ = T;
  const int64_t n = int64_t(B) * T;
  if (n <= capacity_) return;
  capacity_ = int(n);
  const int64_t C = c.hidden_size, V = c.vocab_size, I = c.intermediate_size;
  const int64_t Q = int64_t(c.num_attention_heads) * c.head_dim;
  const int64_t KV = int64_t(c.num_key_value_heads) * c.head_dim;
  auto buf = [&](int64_t floats) { return DeviceBuffer(backend(), floats * sizeof(float)); };
  ids_ = buf(n), targets_ = buf(n), pos_ = buf(n);
  acts_.clear();
  acts_.resize(c.num_hidden_layers);
  for (auto& a : acts_) {
    a.x = buf(n * C), a.ln1 = buf(n * C), a.rstd1 = buf(n);
    a.q_raw = buf(n * Q), a.q = buf(n * Q), a.q_rstd = buf(n * c.num_attention_heads);
    a.k_raw = buf(n * KV), a.k = buf(n * KV), a.v = buf(n * KV);
    a.k_rstd = buf(n * c.num_key_value_heads);
    a.att = buf(n * Q), a.lse = buf(n * c.num_attention_heads);
    a.mid = buf(n * C), a.ln2 = buf(n * C), a.rstd2 = buf(n);
    a.gate = buf(n * I), a.up = buf(n * I), a.act = buf(n * I);
  }
  final_x = buf(n * C), lnf_ = buf(n * C), rstdf_ = buf(n), logits_ = buf(n * V);
  nll_ = buf(n), entropy_ = buf(n), dnll_ = buf(n);
  dres_ = buf(n * C), dtmp_ = buf(n * C), dln_ = buf(n * C);
  datt_ = buf(n * Q), dq_ = buf(n * Q), dk_ = buf(n * KV), dv_ = buf(n * KV);
  dgate_ = buf(n * I), dup_ = buf(n * I), dact_ = buf(n * I);
}

BlockActs Transformer::block_acts(int layer) const {
  const LayerActs& a = acts_[layer];
  float* out = layer + 1 < config().num_hidden_layers ? acts_[layer + 1].x.as() : final_x.as();
  return {a.x.as(),  a.ln1.as(), a.rstd1.as(), a.q_raw.as(), a.q.as(),   a.q_rstd.as(),
          a.k_raw.as(), a.k.as(), a.k_rstd.as(), a.v.as(),   a.att.as(), a.lse.as(),
          a.mid.as(), a.ln2.as(), a.rstd2.as(), a.gate.as(), a.up.as(),  a.act.as(),
          out};
}

void Transformer::forward(std::span<const int32_t> ids, std::span<const int32_t> targets, int B,
                          int T, std::span<const int32_t> pos_in) {
  const ModelConfig& c = config();
  packed_ = !pos_in.empty();
  // A packed row may be longer than the context (several documents); no position may be.
  TANDEM_CHECK(packed_ || T <= c.max_position_embeddings,
               "[forward] sequence length {} exceeds max_position_embeddings {}", T,
               c.max_position_embeddings);
  plan(B, T);
  Backend& be = backend();
  const int n = B * T, C = c.hidden_size, V = c.vocab_size, D = c.head_dim;
  const int Hq = c.num_attention_heads, Hkv = c.num_key_value_heads;
  TANDEM_CHECK(int(ids.size()) == n && int(targets.size()) == n,
               "[forward] expected {} ids and targets, got {} and {}", n, ids.size(), targets.size());
  for (int32_t id : ids)
    TANDEM_CHECK(id >= 0 && id < V, "[forward] token id {} outside the vocabulary [0, {})", id, V);
  for (int32_t t : targets)
    TANDEM_CHECK(t < V, "[forward] target id {} outside the vocabulary [0, {})", t, V);
  std::vector<int32_t> pos(n);
  for (int i = 0; i < n; ++i) pos[i] = i % T;
  if (packed_) {
    TANDEM_CHECK(int(pos_in.size()) == n, "[forward] expected {} positions, got {}", n,
                 pos_in.size());
    for (int i = 0; i < n; ++i) {  // documents are contiguous: each counts up from 0 in its row
      TANDEM_CHECK(pos_in[i] == 0 || (i % T > 0 && pos_in[i] == pos_in[i - 1] + 1),
                   "[forward] position {} at row {}, token {} does not continue its document",
                   pos_in[i], i / T, i % T);
      TANDEM_CHECK(pos_in[i] < c.max_position_embeddings,
                   "[forward] position {} at row {}, token {} exceeds max_position_embeddings {}",
                   pos_in[i], i / T, i % T, c.max_position_embeddings);
    }
    pos.assign(pos_in.begin(), pos_in.end());
  }
  be.to_device(ids_.as(), ids.data(), n * sizeof(int32_t));
  be.to_device(targets_.as(), targets.data(), n * sizeof(int32_t));
  be.to_device(pos_.as(), pos.data(), n * sizeof(int32_t));
  const float scale = 1.0f / std::sqrt(float(D));
  const AttentionStep causal = [&](const BlockActs& a) {
    be.attention_forward(a.att, a.lse, a.q, a.k, a.v, packed_ ? pos_.as<int32_t>() : nullptr, B, T,
                         Hq, Hkv, D, scale);
  };

  be.embedding_forward(acts_[0].x.as(), ids_.as<int32_t>(), params() + layout().embed, n, C);
  for (int l = 0; l < c.num_hidden_layers; ++l)
    block_forward(*this, l, block_acts(l), pos_.as<int32_t>(), n, causal);
  be.rmsnorm_forward(lnf_.as(), rstdf_.as(), final_x.as(), params() + layout().final_norm, n, C,
                     c.rms_norm_eps);
  linear_forward(be, logits_.as(), lnf_.as(), params() + layout().lm_head, n, C, V);
  be.cross_entropy_forward(nll_.as(), entropy_.as(), logits_.as(), targets_.as<int32_t>(), n, V);
}

std::vector<float> Transformer::read_logits() const {
  std::vector<float> host(size_t(B_) * T_ * config().vocab_size);
  backend().to_host(host.data(), logits_.as(), host.size() * sizeof(float));
  return host;
}

void Transformer::read_token_stats(float* nll, float* entropy) const {
  const size_t n = size_t(B_) * T_;
  if (nll) backend().to_host(nll, nll_.as(), n * sizeof(float));
  if (entropy) backend().to_host(entropy, entropy_.as(), n * sizeof(float));
}

void Transformer::backward(std::span<const float> dnll, const GradsReady& ready) {
  const ModelConfig& c = config();
  Backend& be = backend();
  const int B = B_, T = T_, n = B * T, C = c.hidden_size, V = c.vocab_size;
  TANDEM_CHECK(n > 0, "[backward] called before forward");
  TANDEM_CHECK(int(dnll.size()) == n, "[backward] expected {} weights, got {}", n, dnll.size());
  be.to_device(dnll_.as(), dnll.data(), n * sizeof(float));
  float* G = grads();
  const ParamLayout& L = layout();

  float* dlogits = logits_.as();  // in place: the logits are not needed past this point
  be.cross_entropy_backward(dlogits, logits_.as(), targets_.as<int32_t>(), dnll_.as(), n, V);
  linear_backward(be, dln_.as(), 0.0f, dlogits, lnf_.as(), params() + L.lm_head, G + L.lm_head, n,
                  C, V);
  be.rmsnorm_backward(dres_.as(), G + L.final_norm, dln_.as(), final_x.as(),
                      params() + L.final_norm, rstdf_.as(), n, C);
  // The slab's tail (final norm, untied head) is done; a tied head is the embedding, done last.
  if (ready) ready(L.final_norm, L.total);
  const BlockScratch scratch{dtmp_.as(), dln_.as(), datt_.as(), dq_.as(),   dk_.as(),
                             dv_.as(),   dgate_.as(), dup_.as(), dact_.as()};
  for (int l = c.num_hidden_layers - 1; l >= 0; --l) {
    block_backward(*this, G, l, block_acts(l), scratch, dres_.as(), pos_.as<int32_t>(), packed_, B,
                   T);
    if (ready) {
      const int64_t end = l + 1 < c.num_hidden_layers ? L.layers[l + 1].input_norm : L.final_norm;
      ready(L.layers[l].input_norm, end);
    }
  }
  be.embedding_backward(G + L.embed, dres_.as(), ids_.as<int32_t>(), n, C);
  if (ready) ready(L.embed, c.num_hidden_layers > 0 ? L.layers[0].input_norm : L.final_norm);
}

}  // namespace tandem
