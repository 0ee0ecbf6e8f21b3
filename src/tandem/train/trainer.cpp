#include "tandem/train/trainer.h"

#include <cmath>

#include "tandem/core/error.h"
#include "tandem/train/optimizer_step.h"

namespace tandem {

Trainer::Trainer(Transformer& model, TrainConfig config, Communicator& comm)
    : model_(model), comm_(comm), cfg_(config),
      opt_(model.backend(), model.layout(), config.adamw,
           config.shard_optimizer && comm.size() > 1 ? &comm : nullptr) {
  require_training(model.backend());
}

StepStats Trainer::step(std::span<const Batch> micro_batches) {
  TANDEM_CHECK(!micro_batches.empty(), "[train] a step needs at least one micro-batch");
  StepStats stats;
  int64_t local_targets = 0;
  for (const Batch& b : micro_batches)
    for (int32_t t : b.targets) local_targets += t >= 0;
  // The loss is a mean over the whole step's target tokens, on every rank.
  stats.target_tokens = int64_t(comm_.all_reduce_sum(double(local_targets)));
  const float weight = 1.0f / float(std::max<int64_t>(stats.target_tokens, 1));
  // Batch-invariant runs sum the micro-batches' gradients in order, each computed alone, as the
  // ranks' are summed: one process with micro-batches m0, m1 then has the bits of two ranks
  // holding one each. Otherwise backward accumulates in place (no extra buffer, no extra pass).
  Backend& be = model_.backend();
  const size_t n_params = size_t(model_.layout().total);
  const bool ordered = be.batch_invariant() && micro_batches.size() > 1;
  if (ordered && sum_.bytes() == 0) sum_ = DeviceBuffer(be, n_params * sizeof(float));
  const bool overlap = cfg_.overlap && comm_.size() > 1 && !opt_.sharded() && !ordered && !inject_nan_;
  const Transformer::GradsReady start_sum = [&](int64_t begin, int64_t end) {
    comm_.start_sum(be, model_.grads() + begin, size_t(end - begin));
  };
  model_.zero_grads();
  double loss_sum = 0;
  for (size_t m = 0; m < micro_batches.size(); ++m) {
    const Batch& b = micro_batches[m];
    const size_t n = size_t(b.B) * b.T;
    if (ordered && m > 0) model_.zero_grads();
    model_.forward(b.ids, b.targets, b.B, b.T, b.pos);
    nll_.resize(n), dnll_.resize(n);
    model_.read_token_stats(nll_.data(), nullptr);
    double part = 0;  // this micro-batch's loss, alone (the same order as the ranks' sum)
    for (size_t i = 0; i < n; ++i) {
      part += nll_[i];
      dnll_[i] = b.targets[i] >= 0 ? weight : 0.0f;
    }
    loss_sum += part;
    const bool last = m + 1 == micro_batches.size();
    model_.backward(dnll_, overlap && last ? start_sum : Transformer::GradsReady());
    if (ordered && m == 0) be.copy(sum_.as<float>(), model_.grads(), n_params * sizeof(float));
    if (ordered && m > 0) be.add(sum_.as<float>(), model_.grads(), n_params);
    stats.tokens += int64_t(n);
  }
  if (ordered) be.copy(model_.grads(), sum_.as<float>(), n_params * sizeof(float));
  stats.tokens = int64_t(comm_.all_reduce_sum(double(stats.tokens)));
  if (inject_nan_) {
    const float nan = std::nanf("");
    model_.backend().to_device(model_.grads(), &nan, sizeof nan);
    inject_nan_ = false;
  }
  stats.loss = comm_.all_reduce_sum(loss_sum) * weight;
  stats.lr = cfg_.lr.at(steps_done_);
  ++steps_done_;
  const UpdateOutcome u =
      optimizer_step(model_, opt_, comm_, stats.lr, cfg_.max_grad_norm, stats.loss, overlap);
  stats.grad_norm = u.grad_norm;
  stats.skipped = !u.applied;
  return stats;
}

}  // namespace tandem
