#include "tandem/model/block.h"

#include <cmath>

namespace tandem {

void linear_forward(Backend& be, float* y, const float* x, const float* W, int n, int in, int out,
                    bool accumulate) {
  be.gemm(false, true, n, out, in, 1.0f, x, in, W, in, accumulate ? 1.0f : 0.0f, y, out);
}

void linear_backward(Backend& be, float* dx, float dx_beta, const float* dy, const float* x,
                     const float* W, float* dW, int n, int in, int out) {
  be.gemm(false, false, n, in, out, 1.0f, dy, out, W, in, dx_beta, dx, in);
  be.gemm(true, false, out, in, n, 1.0f, dy, out, x, in, 1.0f, dW, in);
}

void block_forward(const ModelWeights& w, int layer, const BlockActs& a, const int32_t* pos, int n,
                   const AttentionStep& attend) {
  Backend& be = w.backend();
  const ModelConfig& c = w.config();
  const LayerOffsets& o = w.layout().layers[layer];
  const float* P = w.params();
  const int C = c.hidden_size, I = c.intermediate_size, D = c.head_dim;
  const int Hq = c.num_attention_heads, Hkv = c.num_key_value_heads;
  const float eps = c.rms_norm_eps;
  const size_t residual_bytes = size_t(n) * C * sizeof(float);

  be.rmsnorm_forward(a.ln1, a.rstd1, a.x, P + o.input_norm, n, C, eps);
  linear_forward(be, a.q_raw, a.ln1, P + o.q_proj, n, C, Hq * D);
  linear_forward(be, a.k_raw, a.ln1, P + o.k_proj, n, C, Hkv * D);
  linear_forward(be, a.v, a.ln1, P + o.v_proj, n, C, Hkv * D);
  be.rmsnorm_forward(a.q, a.q_rstd, a.q_raw, P + o.q_norm, n * Hq, D, eps);
  be.rmsnorm_forward(a.k, a.k_rstd, a.k_raw, P + o.k_norm, n * Hkv, D, eps);
  be.rope_forward(a.q, pos, w.rope_table(), n, Hq, D);
  be.rope_forward(a.k, pos, w.rope_table(), n, Hkv, D);
  attend(a);
  // mid = x + att @ Wo^T
  if (a.mid != a.x) be.copy(a.mid, a.x, residual_bytes);
  linear_forward(be, a.mid, a.att, P + o.o_proj, n, Hq * D, C, /*accumulate=*/true);
  be.rmsnorm_forward(a.ln2, a.rstd2, a.mid, P + o.post_norm, n, C, eps);
  linear_forward(be, a.gate, a.ln2, P + o.gate_proj, n, C, I);
  linear_forward(be, a.up, a.ln2, P + o.up_proj, n, C, I);
  be.swiglu_forward(a.act, a.gate, a.up, size_t(n) * I);
  // out = mid + act @ Wdown^T
  if (a.out != a.mid) be.copy(a.out, a.mid, residual_bytes);
  linear_forward(be, a.out, a.act, P + o.down_proj, n, I, C, /*accumulate=*/true);
}

void block_backward(const ModelWeights& w, float* grads, int layer, const BlockActs& a,
                    const BlockScratch& s, float* dres, const int32_t* pos, bool packed, int B,
                    int T) {
  Backend& be = w.backend();
  const ModelConfig& c = w.config();
  const LayerOffsets& o = w.layout().layers[layer];
  const float* P = w.params();
  float* G = grads;
  const int n = B * T, C = c.hidden_size, I = c.intermediate_size, D = c.head_dim;
  const int Hq = c.num_attention_heads, Hkv = c.num_key_value_heads;
  const float scale = 1.0f / std::sqrt(float(D));

  // dres holds d(block output). MLP branch:
  linear_backward(be, s.dact, 0.0f, dres, a.act, P + o.down_proj, G + o.down_proj, n, I, C);
  be.swiglu_backward(s.dgate, s.dup, s.dact, a.gate, a.up, size_t(n) * I);
  linear_backward(be, s.dln, 0.0f, s.dgate, a.ln2, P + o.gate_proj, G + o.gate_proj, n, C, I);
  linear_backward(be, s.dln, 1.0f, s.dup, a.ln2, P + o.up_proj, G + o.up_proj, n, C, I);
  be.rmsnorm_backward(s.dtmp, G + o.post_norm, s.dln, a.mid, P + o.post_norm, a.rstd2, n, C);
  be.add(dres, s.dtmp, size_t(n) * C);  // dres = d(mid)
  // Attention branch:
  linear_backward(be, s.datt, 0.0f, dres, a.att, P + o.o_proj, G + o.o_proj, n, Hq * D, C);
  be.attention_backward(s.dq, s.dk, s.dv, s.datt, a.q, a.k, a.v, packed ? pos : nullptr, a.att,
                        a.lse, B, T, Hq, Hkv, D, scale);
  be.rope_backward(s.dq, pos, w.rope_table(), n, Hq, D);
  be.rope_backward(s.dk, pos, w.rope_table(), n, Hkv, D);
  // QK-norm backward. datt and dq are free again: they take d(q_raw) and d(k_raw).
  be.rmsnorm_backward(s.datt, G + o.q_norm, s.dq, a.q_raw, P + o.q_norm, a.q_rstd, n * Hq, D);
  be.rmsnorm_backward(s.dq, G + o.k_norm, s.dk, a.k_raw, P + o.k_norm, a.k_rstd, n * Hkv, D);
  linear_backward(be, s.dln, 0.0f, s.datt, a.ln1, P + o.q_proj, G + o.q_proj, n, C, Hq * D);
  linear_backward(be, s.dln, 1.0f, s.dq, a.ln1, P + o.k_proj, G + o.k_proj, n, C, Hkv * D);
  linear_backward(be, s.dln, 1.0f, s.dv, a.ln1, P + o.v_proj, G + o.v_proj, n, C, Hkv * D);
  be.rmsnorm_backward(s.dtmp, G + o.input_norm, s.dln, a.x, P + o.input_norm, a.rstd1, n, C);
  be.add(dres, s.dtmp, size_t(n) * C);  // dres = d(block input)
}

}  // namespace tandem
