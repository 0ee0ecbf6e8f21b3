#pragma once
// The Qwen3 dense decoder for training: forward and backward over a (B, T) batch, every operation
// a call on the kernel interface. Weights, gradients and activations live on the backend's device;
// activations are planned once for the largest batch seen and reused, so nothing is allocated
// inside the training loop.
#include <cstdint>
#include <span>
#include <vector>

#include "tandem/backend/backend.h"
#include "tandem/model/config.h"
#include "tandem/model/param_layout.h"

namespace tandem {

class Transformer {
 public:
  Transformer(Backend& backend, const ModelConfig& config);

  const ModelConfig& config() const { return cfg_; }
  const ParamLayout& layout() const { return layout_; }
  Backend& backend() const { return be_; }
  float* params() const { return params_.as<float>(); }  // device, layout().total floats
  float* grads() const { return grads_.as<float>(); }    // device, same layout

  // Matrices ~ N(0, 0.02), norm gains 1; a pure function of the seed (counter-based RNG).
  void init_random(uint64_t seed);
  void load_params(std::span<const float> host);  // layout().total floats
  std::vector<float> read_params() const;
  std::vector<float> read_grads() const;
  void zero_grads();

  // ids, targets: host (B*T). Computes per-token negative log-likelihood of the targets (targets < 0
  // are ignored and give 0) and the entropy of each predicted distribution.
  void forward(std::span<const int32_t> ids, std::span<const int32_t> targets, int B, int T);
  const float* logits() const { return logits_.as<float>(); }  // device (B*T, V); backward overwrites
  std::vector<float> read_logits() const;
  void read_token_stats(float* nll, float* entropy) const;  // host, B*T each

  // Accumulates into grads() the gradient of sum_i dnll[i] * nll[i] (dnll: host, B*T).
  // Cross-entropy training passes mask/num_tokens; GRPO passes its per-token weights.
  void backward(std::span<const float> dnll);

 private:
  struct LayerActs {
    DeviceBuffer x;              // (n, C) block input (residual stream)
    DeviceBuffer ln1, rstd1;     // (n, C), (n)
    DeviceBuffer q_raw, q;       // (n, Hq*D) projection; after QK-norm and RoPE
    DeviceBuffer k_raw, k, v;    // (n, Hkv*D)
    DeviceBuffer q_rstd, k_rstd;  // (n*Hq), (n*Hkv)
    DeviceBuffer att, lse;       // (n, Hq*D), (B, Hq, T)
    DeviceBuffer mid;            // (n, C) residual after attention
    DeviceBuffer ln2, rstd2;     // (n, C), (n)
    DeviceBuffer gate, up, act;  // (n, I)
  };
  void plan(int B, int T);
  float* p(int64_t offset) const { return params() + offset; }
  float* g(int64_t offset) const { return grads() + offset; }
  void linear_forward(float* y, const float* x, int64_t w, int n, int in, int out);
  void linear_backward(float* dx, float dx_beta, const float* dy, const float* x, int64_t w, int n,
                       int in, int out);

  Backend& be_;
  ModelConfig cfg_;
  ParamLayout layout_;
  DeviceBuffer params_, grads_, rope_;
  int B_ = 0, T_ = 0, capacity_ = 0;  // current batch; activations sized for capacity_ tokens
  DeviceBuffer ids_, targets_, pos_;  // (n) int32
  std::vector<LayerActs> acts_;
  DeviceBuffer final_x, lnf_, rstdf_, logits_, nll_, entropy_;  // (n,C), (n,C), (n), (n,V), (n), (n)
  // backward scratch
  DeviceBuffer dres_, dtmp_, dln_, datt_, dq_, dk_, dv_, dgate_, dup_, dact_, dnll_;
};

}  // namespace tandem
