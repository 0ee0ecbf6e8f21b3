#include "tandem/model/transformer.h"

#include <cmath>

#include "tandem/core/error.h"
#include "tandem/core/rng.h"
#include "tandem/model/rope_table.h"

namespace tandem {

Transformer::Transformer(Backend& backend, const ModelConfig& config)
    : be_(backend), cfg_(config), layout_(config) {
  cfg_.validate("model config");
  params_ = DeviceBuffer(be_, layout_.total * sizeof(float));
  grads_ = DeviceBuffer(be_, layout_.total * sizeof(float));
  const auto table = make_rope_table(cfg_);
  rope_ = DeviceBuffer(be_, table.size() * sizeof(float));
  be_.to_device(rope_.as(), table.data(), table.size() * sizeof(float));
}

void Transformer::init_random(uint64_t seed) {
  std::vector<float> host(layout_.total);
  for (size_t t = 0; t < layout_.tensors.size(); ++t) {
    const ParamSpec& spec = layout_.tensors[t];
    float* dst = host.data() + spec.offset;
    if (spec.shape.size() == 1) {
      std::fill(dst, dst + spec.numel, 1.0f);
      continue;
    }
    const Rng rng(seed, /*stream=*/t);  // one stream per tensor: independent of the slab order
    for (int64_t i = 0; i < spec.numel; ++i) dst[i] = 0.02f * rng.normal(i);
  }
  load_params(host);
}

void Transformer::load_params(std::span<const float> host) {
  TANDEM_CHECK(int64_t(host.size()) == layout_.total,
               "[load_params] got {} floats, the model has {}", host.size(), layout_.total);
  be_.to_device(params(), host.data(), host.size_bytes());
}

std::vector<float> Transformer::read_params() const {
  std::vector<float> host(layout_.total);
  be_.to_host(host.data(), params(), host.size() * sizeof(float));
  return host;
}

std::vector<float> Transformer::read_grads() const {
  std::vector<float> host(layout_.total);
  be_.to_host(host.data(), grads(), host.size() * sizeof(float));
  return host;
}

void Transformer::zero_grads() { be_.fill(grads(), 0.0f, layout_.total); }

void Transformer::plan(int B, int T) {
  TANDEM_CHECK(B > 0 && T > 0, "[forward] batch {}x{} must be positive", B, T);
  TANDEM_CHECK(T <= cfg_.max_position_embeddings,
               "[forward] sequence length {} exceeds max_position_embeddings {}", T,
               cfg_.max_position_embeddings);
  B_ = B, T_ = T;
  const int64_t n = int64_t(B) * T;
  if (n <= capacity_) return;
  capacity_ = int(n);
  const int64_t C = cfg_.hidden_size, V = cfg_.vocab_size, I = cfg_.intermediate_size;
  const int64_t Q = int64_t(cfg_.num_attention_heads) * cfg_.head_dim;
  const int64_t KV = int64_t(cfg_.num_key_value_heads) * cfg_.head_dim;
  auto buf = [&](int64_t floats) { return DeviceBuffer(be_, floats * sizeof(float)); };
  ids_ = buf(n), targets_ = buf(n), pos_ = buf(n);
  acts_.clear();
  acts_.resize(cfg_.num_hidden_layers);
  for (auto& a : acts_) {
    a.x = buf(n * C), a.ln1 = buf(n * C), a.rstd1 = buf(n);
    a.q_raw = buf(n * Q), a.q = buf(n * Q), a.q_rstd = buf(n * cfg_.num_attention_heads);
    a.k_raw = buf(n * KV), a.k = buf(n * KV), a.v = buf(n * KV);
    a.k_rstd = buf(n * cfg_.num_key_value_heads);
    a.att = buf(n * Q), a.lse = buf(n * cfg_.num_attention_heads);
    a.mid = buf(n * C), a.ln2 = buf(n * C), a.rstd2 = buf(n);
    a.gate = buf(n * I), a.up = buf(n * I), a.act = buf(n * I);
  }
  final_x = buf(n * C), lnf_ = buf(n * C), rstdf_ = buf(n), logits_ = buf(n * V);
  nll_ = buf(n), entropy_ = buf(n), dnll_ = buf(n);
  dres_ = buf(n * C), dtmp_ = buf(n * C), dln_ = buf(n * C);
  datt_ = buf(n * Q), dq_ = buf(n * Q), dk_ = buf(n * KV), dv_ = buf(n * KV);
  dgate_ = buf(n * I), dup_ = buf(n * I), dact_ = buf(n * I);
}

// y(n,out) = x(n,in) @ W(out,in)^T
void Transformer::linear_forward(float* y, const float* x, int64_t w, int n, int in, int out) {
  be_.gemm(false, true, n, out, in, 1.0f, x, in, p(w), in, 0.0f, y, out);
}

// dx(n,in) = dx_beta * dx + dy(n,out) @ W(out,in);  dW(out,in) += dy^T @ x(n,in)
void Transformer::linear_backward(float* dx, float dx_beta, const float* dy, const float* x,
                                  int64_t w, int n, int in, int out) {
  be_.gemm(false, false, n, in, out, 1.0f, dy, out, p(w), in, dx_beta, dx, in);
  be_.gemm(true, false, out, in, n, 1.0f, dy, out, x, in, 1.0f, g(w), in);
}

void Transformer::forward(std::span<const int32_t> ids, std::span<const int32_t> targets, int B,
                          int T) {
  plan(B, T);
  const int n = B * T, C = cfg_.hidden_size, V = cfg_.vocab_size, I = cfg_.intermediate_size;
  const int Hq = cfg_.num_attention_heads, Hkv = cfg_.num_key_value_heads, D = cfg_.head_dim;
  TANDEM_CHECK(int(ids.size()) == n && int(targets.size()) == n,
               "[forward] expected {} ids and targets, got {} and {}", n, ids.size(), targets.size());
  for (int32_t id : ids)
    TANDEM_CHECK(id >= 0 && id < V, "[forward] token id {} outside the vocabulary [0, {})", id, V);
  for (int32_t t : targets)
    TANDEM_CHECK(t < V, "[forward] target id {} outside the vocabulary [0, {})", t, V);
  std::vector<int32_t> pos(n);
  for (int i = 0; i < n; ++i) pos[i] = i % T;
  be_.to_device(ids_.as(), ids.data(), n * sizeof(int32_t));
  be_.to_device(targets_.as(), targets.data(), n * sizeof(int32_t));
  be_.to_device(pos_.as(), pos.data(), n * sizeof(int32_t));
  const float eps = cfg_.rms_norm_eps, scale = 1.0f / std::sqrt(float(D));
  const int32_t* posd = pos_.as<int32_t>();

  be_.embedding_forward(acts_[0].x.as(), ids_.as<int32_t>(), p(layout_.embed), n, C);
  for (int l = 0; l < cfg_.num_hidden_layers; ++l) {
    LayerActs& a = acts_[l];
    const LayerOffsets& w = layout_.layers[l];
    be_.rmsnorm_forward(a.ln1.as(), a.rstd1.as(), a.x.as(), p(w.input_norm), n, C, eps);
    linear_forward(a.q_raw.as(), a.ln1.as(), w.q_proj, n, C, Hq * D);
    linear_forward(a.k_raw.as(), a.ln1.as(), w.k_proj, n, C, Hkv * D);
    linear_forward(a.v.as(), a.ln1.as(), w.v_proj, n, C, Hkv * D);
    be_.rmsnorm_forward(a.q.as(), a.q_rstd.as(), a.q_raw.as(), p(w.q_norm), n * Hq, D, eps);
    be_.rmsnorm_forward(a.k.as(), a.k_rstd.as(), a.k_raw.as(), p(w.k_norm), n * Hkv, D, eps);
    be_.rope_forward(a.q.as(), posd, rope_.as(), n, Hq, D);
    be_.rope_forward(a.k.as(), posd, rope_.as(), n, Hkv, D);
    be_.attention_forward(a.att.as(), a.lse.as(), a.q.as(), a.k.as(), a.v.as(), B, T, Hq, Hkv, D,
                          scale);
    // mid = x + att @ Wo^T
    be_.copy(a.mid.as(), a.x.as(), size_t(n) * C * sizeof(float));
    be_.gemm(false, true, n, C, Hq * D, 1.0f, a.att.as(), Hq * D, p(w.o_proj), Hq * D, 1.0f,
             a.mid.as(), C);
    be_.rmsnorm_forward(a.ln2.as(), a.rstd2.as(), a.mid.as(), p(w.post_norm), n, C, eps);
    linear_forward(a.gate.as(), a.ln2.as(), w.gate_proj, n, C, I);
    linear_forward(a.up.as(), a.ln2.as(), w.up_proj, n, C, I);
    be_.swiglu_forward(a.act.as(), a.gate.as(), a.up.as(), size_t(n) * I);
    // next block input = mid + act @ Wdown^T
    float* next = l + 1 < cfg_.num_hidden_layers ? acts_[l + 1].x.as() : final_x.as();
    be_.copy(next, a.mid.as(), size_t(n) * C * sizeof(float));
    be_.gemm(false, true, n, C, I, 1.0f, a.act.as(), I, p(w.down_proj), I, 1.0f, next, C);
  }
  be_.rmsnorm_forward(lnf_.as(), rstdf_.as(), final_x.as(), p(layout_.final_norm), n, C, eps);
  linear_forward(logits_.as(), lnf_.as(), layout_.lm_head, n, C, V);
  be_.cross_entropy_forward(nll_.as(), entropy_.as(), logits_.as(), targets_.as<int32_t>(), n, V);
}

std::vector<float> Transformer::read_logits() const {
  std::vector<float> host(size_t(B_) * T_ * cfg_.vocab_size);
  be_.to_host(host.data(), logits_.as(), host.size() * sizeof(float));
  return host;
}

void Transformer::read_token_stats(float* nll, float* entropy) const {
  const size_t n = size_t(B_) * T_;
  if (nll) be_.to_host(nll, nll_.as(), n * sizeof(float));
  if (entropy) be_.to_host(entropy, entropy_.as(), n * sizeof(float));
}

void Transformer::backward(std::span<const float> dnll) {
  const int B = B_, T = T_, n = B * T, C = cfg_.hidden_size, V = cfg_.vocab_size;
  const int I = cfg_.intermediate_size, Hq = cfg_.num_attention_heads;
  const int Hkv = cfg_.num_key_value_heads, D = cfg_.head_dim;
  TANDEM_CHECK(n > 0, "[backward] called before forward");
  TANDEM_CHECK(int(dnll.size()) == n, "[backward] expected {} weights, got {}", n, dnll.size());
  be_.to_device(dnll_.as(), dnll.data(), n * sizeof(float));
  const float scale = 1.0f / std::sqrt(float(D));
  const int32_t* posd = pos_.as<int32_t>();

  float* dlogits = logits_.as();  // in place: the logits are not needed past this point
  be_.cross_entropy_backward(dlogits, logits_.as(), targets_.as<int32_t>(), dnll_.as(), n, V);
  linear_backward(dln_.as(), 0.0f, dlogits, lnf_.as(), layout_.lm_head, n, C, V);
  be_.rmsnorm_backward(dres_.as(), g(layout_.final_norm), dln_.as(), final_x.as(),
                       p(layout_.final_norm), rstdf_.as(), n, C);
  for (int l = cfg_.num_hidden_layers - 1; l >= 0; --l) {
    LayerActs& a = acts_[l];
    const LayerOffsets& w = layout_.layers[l];
    // dres holds d(block output). MLP branch:
    linear_backward(dact_.as(), 0.0f, dres_.as(), a.act.as(), w.down_proj, n, I, C);
    be_.swiglu_backward(dgate_.as(), dup_.as(), dact_.as(), a.gate.as(), a.up.as(), size_t(n) * I);
    linear_backward(dln_.as(), 0.0f, dgate_.as(), a.ln2.as(), w.gate_proj, n, C, I);
    linear_backward(dln_.as(), 1.0f, dup_.as(), a.ln2.as(), w.up_proj, n, C, I);
    be_.rmsnorm_backward(dtmp_.as(), g(w.post_norm), dln_.as(), a.mid.as(), p(w.post_norm),
                         a.rstd2.as(), n, C);
    be_.add(dres_.as(), dtmp_.as(), size_t(n) * C);  // dres = d(mid)
    // Attention branch:
    linear_backward(datt_.as(), 0.0f, dres_.as(), a.att.as(), w.o_proj, n, Hq * D, C);
    be_.attention_backward(dq_.as(), dk_.as(), dv_.as(), datt_.as(), a.q.as(), a.k.as(), a.v.as(),
                           a.att.as(), a.lse.as(), B, T, Hq, Hkv, D, scale);
    be_.rope_backward(dq_.as(), posd, rope_.as(), n, Hq, D);
    be_.rope_backward(dk_.as(), posd, rope_.as(), n, Hkv, D);
    // QK-norm backward. datt_ and dq_ are free again: they take d(q_raw) and d(k_raw).
    be_.rmsnorm_backward(datt_.as(), g(w.q_norm), dq_.as(), a.q_raw.as(), p(w.q_norm),
                         a.q_rstd.as(), n * Hq, D);
    be_.rmsnorm_backward(dq_.as(), g(w.k_norm), dk_.as(), a.k_raw.as(), p(w.k_norm),
                         a.k_rstd.as(), n * Hkv, D);
    linear_backward(dln_.as(), 0.0f, datt_.as(), a.ln1.as(), w.q_proj, n, C, Hq * D);
    linear_backward(dln_.as(), 1.0f, dq_.as(), a.ln1.as(), w.k_proj, n, C, Hkv * D);
    linear_backward(dln_.as(), 1.0f, dv_.as(), a.ln1.as(), w.v_proj, n, C, Hkv * D);
    be_.rmsnorm_backward(dtmp_.as(), g(w.input_norm), dln_.as(), a.x.as(), p(w.input_norm),
                         a.rstd1.as(), n, C);
    be_.add(dres_.as(), dtmp_.as(), size_t(n) * C);  // dres = d(block input)
  }
  be_.embedding_backward(g(layout_.embed), dres_.as(), ids_.as<int32_t>(), n, C);
}

}  // namespace tandem
