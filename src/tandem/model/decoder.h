#pragma once
// Inference with a KV cache over a model's weights: prefill a slot with a prompt, then add
// one token to every slot per decode() call. Slots are independent sequences of different lengths;
// the generation engine (model/generate.h) refills finished slots with new prompts.
#include <cstdint>
#include <span>
#include <vector>

#include "tandem/model/block.h"
#include "tandem/model/weights.h"

namespace tandem {

class Decoder {
 public:
  // max_len: longest prompt + completion a slot may hold (<= max_position_embeddings).
  Decoder(const ModelWeights& model, int slots, int max_len);

  int slots() const { return slots_; }
  int max_len() const { return max_len_; }
  int length(int slot) const { return len_[slot]; }
  int vocab_size() const { return cfg_.vocab_size; }

  // Resets `slot` and runs its prompt; returns the logits (V) that predict the next token.
  std::vector<float> prefill(int slot, std::span<const int32_t> prompt);
  // Appends tokens[s] to every slot s with active[s]; writes logits (slots, V) for those slots
  // (rows of inactive slots are unspecified). Throws if an active slot is full.
  void decode(std::span<const int32_t> tokens, const std::vector<bool>& active, float* logits);

 private:
  // Runs n rows through every block; k/v of row i land in the cache of slot[i] at position pos[i].
  // When `prefill` is set the n rows are one sequence starting at position 0 (causal attention
  // over themselves); otherwise each row attends to its slot's cache.
  void run(int n, const int32_t* ids, const int32_t* slot, const int32_t* pos, bool prefill);
  void plan(int n);
  BlockActs scratch_acts() const;

  const ModelWeights& model_;
  Backend& be_;
  const ModelConfig& cfg_;
  int slots_, max_len_;
  std::vector<int> len_;
  std::vector<DeviceBuffer> k_cache_, v_cache_;  // per layer: (slots, max_len, Hkv, D)
  int capacity_ = 0;
  DeviceBuffer ids_, pos_, lens_;  // (n) int32
  // One scratch set for every layer: the residual stream x_ is updated in place.
  DeviceBuffer x_, ln_, rstd_, q_, k_, v_, qr_, kr_, att_, lse_, gate_, up_, logits_;
};

}  // namespace tandem
