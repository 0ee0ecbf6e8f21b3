#pragma once
// AdamW over the whole parameter slab: decoupled weight decay (matrices only, see ParamSpec::decay)
// and bias correction, as torch.optim.AdamW defines them. fp32 master weights and moments.
//
// Sharded (ZeRO stage 1, `--zero 1`): each rank keeps the moments of its shard of the slab only
// and updates only those parameters; optimizer_step then gathers the updated shards to every
// rank. The update is elementwise, so a shard's bits equal those of the whole-slab update.
#include <cstdint>
#include <vector>

#include "tandem/backend/backend.h"
#include "tandem/comm/communicator.h"
#include "tandem/model/param_layout.h"

namespace tandem {

struct AdamWConfig {
  float beta1 = 0.9f;
  float beta2 = 0.95f;        // 0.95 rather than 0.999: steadier for short LM runs
  float eps = 1e-8f;
  float weight_decay = 0.1f;  // applied to matrices only
};

// Shards of the slab for ZeRO-1: whole blocks of kNormBlock floats, so the gradient norm can be
// summed block by block in one order whatever the rank count (optimizer_step.h).
constexpr size_t kNormBlock = size_t(1) << 16;

// AdamW's moments over the whole slab, on the host (checkpoints).
struct Moments {
  std::vector<float> m, v;
};

class AdamW {
 public:
  // comm: shard the moments over its ranks (nullptr: keep them all).
  AdamW(Backend& backend, const ParamLayout& layout, AdamWConfig config,
        Communicator* comm = nullptr);

  // One update of params with grads * grad_scale at learning rate lr; advances step(). Sharded:
  // only this rank's shard of params changes.
  void update(float* params, const float* grads, float lr, float grad_scale);

  int64_t step() const { return step_; }
  void set_step(int64_t step) { step_ = step; }
  void reset();  // zero moments and step: the state before the first update
  const AdamWConfig& config() const { return cfg_; }

  bool sharded() const { return comm_ != nullptr; }
  const Shards& shards() const { return shards_; }  // one shard (everything) when not sharded
  // The whole moments, on the host. Sharded, a collective: every rank must call it.
  Moments moments() const;
  // Sets the moments from whole-slab host copies (each rank keeps its shard).
  void set_moments(const Moments& moments);

 private:
  Backend& be_;
  const ParamLayout& layout_;
  AdamWConfig cfg_;
  Communicator* comm_;
  Shards shards_;
  size_t lo_ = 0, hi_ = 0;  // this rank's shard
  DeviceBuffer m_, v_;      // hi_ - lo_ floats each
  int64_t step_ = 0;
};

// Global L2 norm of the gradient slab and the factor that clips it to max_norm (1 when within,
// or when max_norm <= 0), as torch.nn.utils.clip_grad_norm_ computes it.
struct GradNorm {
  double norm;
  float scale;
};
GradNorm clip_grad_norm(Backend& backend, const float* grads, int64_t n, float max_norm);
// The same from the sum of squares.
GradNorm clip_of(double sum_squares, float max_norm);

}  // namespace tandem
