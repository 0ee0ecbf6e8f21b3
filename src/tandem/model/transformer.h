#pragma once
// The Qwen3 dense decoder for training: ModelWeights plus gradients and the activations of a
// (B, T) batch, forward and backward, every operation a call on the kernel interface.
// Activations are planned once for the largest batch seen and reused, so nothing is allocated
// inside the training loop. Gradients are allocated on first use, so a model that only runs
// forward (GRPO's frozen reference) holds one copy of the weights.
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "tandem/model/block.h"
#include "tandem/model/weights.h"

namespace tandem {

class Transformer : public ModelWeights {
 public:
  Transformer(Backend& backend, const ModelConfig& config);  // weights zero until init/load
  explicit Transformer(ModelWeights&& weights);              // trains loaded weights

  float* grads() const;  // device, layout().total floats
  std::vector<float> read_grads() const;
  void zero_grads();

  // ids, targets: host (B*T). Computes per-token negative log-likelihood of the targets (targets <
  // 0 are ignored and give 0) and the entropy of each predicted distribution. pos: empty for one
  // sequence per row; else (B*T) positions of packed documents (each counts 0, 1, 2, ... from its
  // first token; attention and RoPE keep to each document).
  void forward(std::span<const int32_t> ids, std::span<const int32_t> targets, int B, int T,
               std::span<const int32_t> pos = {});
  const float* logits() const { return logits_.as<float>(); }  // device (B*T, V); backward overwrites
  std::vector<float> read_logits() const;
  void read_token_stats(float* nll, float* entropy) const;  // host, B*T each

  // Accumulates into grads() the gradient of sum_i dnll[i] * nll[i] (dnll: host, B*T).
  // Cross-entropy training passes mask/num_tokens; GRPO passes its per-token weights.
  // `ready`, when set, hears of each slice [begin, end) of grads() as soon as this pass is done
  // with it (the head and final norm first, then block after block down to the embedding), so a
  // data-parallel step can start summing it over ranks while the rest is still computed.
  using GradsReady = std::function<void(int64_t begin, int64_t end)>;
  void backward(std::span<const float> dnll, const GradsReady& ready = {});

 private:
  struct LayerActs {  // storage behind one layer's BlockActs
    DeviceBuffer x, ln1, rstd1, q_raw, q, q_rstd, k_raw, k, k_rstd, v, att, lse, mid, ln2, rstd2,
        gate, up, act;
  };
  void plan(int B, int T);
  BlockActs block_acts(int layer) const;

  mutable DeviceBuffer grads_;
  int B_ = 0, T_ = 0, capacity_ = 0;  // current batch; activations sized for capacity_ tokens
  bool packed_ = false;               // the current batch packs documents (pos_ from the caller)
  DeviceBuffer ids_, targets_, pos_;  // (n) int32
  std::vector<LayerActs> acts_;
  DeviceBuffer final_x, lnf_, rstdf_, logits_, nll_, entropy_;  // (n,C), (n,C), (n), (n,V), (n), (n)
  // backward scratch
  DeviceBuffer dres_, dtmp_, dln_, datt_, dq_, dk_, dv_, dgate_, dup_, dact_, dnll_;
};

}  // namespace tandem
