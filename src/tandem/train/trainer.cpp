#include "tandem/train/trainer.h"

#include <cmath>

#include "tandem/core/error.h"

namespace tandem {

Trainer::Trainer(Transformer& model, TrainConfig config)
    : model_(model), cfg_(config), opt_(model.backend(), model.layout(), config.adamw) {}

StepStats Trainer::step(std::span<const Batch> micro_batches) {
  TANDEM_CHECK(!micro_batches.empty(), "[train] a step needs at least one micro-batch");
  StepStats stats;
  for (const Batch& b : micro_batches)
    for (int32_t t : b.targets) stats.target_tokens += t >= 0;
  const float weight = 1.0f / float(std::max<int64_t>(stats.target_tokens, 1));
  model_.zero_grads();
  double loss_sum = 0;
  for (const Batch& b : micro_batches) {
    const size_t n = size_t(b.B) * b.T;
    model_.forward(b.ids, b.targets, b.B, b.T);
    nll_.resize(n), dnll_.resize(n);
    model_.read_token_stats(nll_.data(), nullptr);
    for (size_t i = 0; i < n; ++i) {
      loss_sum += nll_[i];
      dnll_[i] = b.targets[i] >= 0 ? weight : 0.0f;
    }
    model_.backward(dnll_);
    stats.tokens += int64_t(n);
  }
  if (inject_nan_) {
    const float nan = std::nanf("");
    model_.backend().to_device(model_.grads(), &nan, sizeof nan);
    inject_nan_ = false;
  }
  stats.loss = loss_sum * weight;
  stats.lr = cfg_.lr.at(steps_done_);
  const GradNorm clip =
      clip_grad_norm(model_.backend(), model_.grads(), model_.layout().total, cfg_.max_grad_norm);
  stats.grad_norm = clip.norm;
  ++steps_done_;
  // A non-finite loss or gradient would poison the weights and both moments for good: skip.
  if (!std::isfinite(stats.loss) || !std::isfinite(clip.norm)) {
    stats.skipped = true;
    return stats;
  }
  opt_.update(model_.params(), model_.grads(), stats.lr, clip.scale);
  return stats;
}

}  // namespace tandem
