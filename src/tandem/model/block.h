#pragma once
// One Qwen3 decoder block, forward beside backward, on device pointers:
//   ln1 = rmsnorm(x); q, k, v = ln1 @ W^T; q, k = rope(rmsnorm_per_head(q, k)); att = attention
//   mid = x + att @ Wo^T; ln2 = rmsnorm(mid); out = mid + (silu(ln2 @ Wg^T) * (ln2 @ Wu^T)) @ Wd^T
// The only block forward in tandem: training, prompt prefill and token-by-token decoding all run
// it and differ only in the attention step they plug in (causal over a batch, or over a KV cache)
// and in where activations live. Training keeps one BlockActs per layer, since backward reads
// them; inference points every layer at one scratch set and updates the residual stream in place
// (x == mid == out, act == gate).
#include <cstdint>
#include <functional>

#include "tandem/model/weights.h"

namespace tandem {

// Shapes with n rows (tokens): C model width, Q = Hq*D, KV = Hkv*D, I the MLP width.
struct BlockActs {
  float* x = nullptr;                                      // (n, C) input (residual stream)
  float* ln1 = nullptr;                                    // (n, C)
  float* rstd1 = nullptr;                                  // (n)
  float* q_raw = nullptr;                                  // (n, Q) projection
  float* q = nullptr;                                      // (n, Q) after QK-norm and RoPE
  float* q_rstd = nullptr;                                 // (n*Hq)
  float* k_raw = nullptr;                                  // (n, KV)
  float* k = nullptr;                                      // (n, KV)
  float* k_rstd = nullptr;                                 // (n*Hkv)
  float* v = nullptr;                                      // (n, KV)
  float* att = nullptr;                                    // (n, Q) attention output
  float* lse = nullptr;                                    // (n*Hq) row log-sum-exp
  float* mid = nullptr;                                    // (n, C) residual after attention
  float* ln2 = nullptr;                                    // (n, C)
  float* rstd2 = nullptr;                                  // (n)
  float* gate = nullptr;                                   // (n, I)
  float* up = nullptr;                                     // (n, I)
  float* act = nullptr;                                    // (n, I) silu(gate) * up
  float* out = nullptr;                                    // (n, C) output
};

// y(n,out) = x(n,in) @ W(out,in)^T, plus y when accumulate: every projection of the model.
void linear_forward(Backend& be, float* y, const float* x, const float* W, int n, int in, int out,
                    bool accumulate = false);
// dx(n,in) = dx_beta * dx + dy(n,out) @ W(out,in);  dW(out,in) += dy^T @ x(n,in)
void linear_backward(Backend& be, float* dx, float dx_beta, const float* dy, const float* x,
                     const float* W, float* dW, int n, int in, int out);

// Fills a.att (and a.lse where it keeps one) from a.q, a.k, a.v.
using AttentionStep = std::function<void(const BlockActs& a)>;

// pos: device (n) positions, which pick the RoPE rows.
void block_forward(const ModelWeights& w, int layer, const BlockActs& a, const int32_t* pos, int n,
                   const AttentionStep& attend);

// Gradient scratch for block_backward, each sized like the forward tensor it mirrors.
struct BlockScratch {
  float* dtmp = nullptr;   // (n, C)
  float* dln = nullptr;    // (n, C)
  float* datt = nullptr;   // (n, Q)
  float* dq = nullptr;     // (n, Q)
  float* dk = nullptr;     // (n, KV)
  float* dv = nullptr;     // (n, KV)
  float* dgate = nullptr;  // (n, I)
  float* dup = nullptr;    // (n, I)
  float* dact = nullptr;   // (n, I)
};

// dres (n, C): d(block output) in, d(block input) out. Parameter gradients accumulate into
// grads (the slab, ParamLayout order). The batch is B sequences of T tokens (causal attention);
// packed: its rows hold several documents and attention keeps to each (pos says where they start,
// Backend::attention_forward).
void block_backward(const ModelWeights& w, float* grads, int layer, const BlockActs& a,
                    const BlockScratch& s, float* dres, const int32_t* pos, bool packed, int B,
                    int T);

}  // namespace tandem
