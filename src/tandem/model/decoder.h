#pragma once
// Inference with a KV cache over a model's weights. Each slot holds one sequence; prefill() runs a
// prompt (whole or in chunks) into a slot, decode() adds one token to every active slot at once.
// Every attention, prefill or decode, reads the cache (the kernel's attention_decode over rows of
// any slots), so a prompt chunk and a decode step are the same computation row for row. The
// generation engine (engine/engine.h) schedules requests over the slots.
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

  // Runs `tokens` at positions [start, start + n) of `slot`, whose positions [0, start) hold the
  // same sequence's earlier tokens (start 0 begins a new sequence). Returns the logits (V) that
  // predict the token after the last one.
  std::vector<float> prefill(int slot, std::span<const int32_t> tokens, int start = 0);
  // `to` begins with positions [0, n) of `from` (the same prompt): a copy, no computation.
  void copy_prefix(int from, int to, int n);
  // Appends tokens[s] to every slot s with active[s]; writes logits (slots, V) for those slots
  // (rows of inactive slots are unspecified; their caches are untouched). Throws if an active
  // slot is full.
  void decode(std::span<const int32_t> tokens, const std::vector<bool>& active, float* logits);

  // Whether the backend runs in batch-invariant mode (backend.h): then a sequence's logits have the
  // same bits here as in the trainer's forward pass, whatever the batch, slot or chunking.
  bool batch_invariant() const { return be_.batch_invariant(); }
  // log softmax(logits)[token] computed by the backend's cross_entropy_forward on the device
  // (logp = -nll: the kernel and formula the trainer's forward uses), for logits (V) on the host,
  // e.g. one row of what prefill() or decode() returned. The sampler's host formula differs in its
  // last bits; in batch-invariant mode the engine reports this one.
  float token_logprob(std::span<const float> logits, int32_t token);

 private:
  // Runs n rows through every block: row i is token ids[i] at position pos[i] of slot[i]; its
  // k/v land in that slot's cache when write[i], and it attends to positions [0, pos[i]].
  void run(int n, const int32_t* ids, const int32_t* slot, const int32_t* pos,
           const std::vector<bool>& write);
  void plan(int n);
  BlockActs scratch_acts() const;

  const ModelWeights& model_;
  Backend& be_;
  const ModelConfig& cfg_;
  int slots_, max_len_;
  std::vector<int> len_;
  std::vector<DeviceBuffer> k_cache_, v_cache_;  // per layer: (slots, max_len, Hkv, D)
  int capacity_ = 0;
  DeviceBuffer ids_, pos_, slot_, lens_;  // (n) int32
  // One scratch set for every layer: the residual stream x_ is updated in place.
  DeviceBuffer x_, ln_, rstd_, q_, k_, v_, qr_, kr_, att_, lse_, gate_, up_, logits_;
  DeviceBuffer lp_logits_, lp_target_, lp_nll_;  // token_logprob: (V), (1) int32, (2) nll + entropy
};

}  // namespace tandem
