#include "tandem/rl/policy_update.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <span>

#include "tandem/data/batch.h"
#include "tandem/train/optimizer_step.h"

namespace tandem {

namespace {
// Position p + j - 1 of a row predicts completion token j, so its old log-probability and mask
// go there.
struct UpdateRows {
  Batch batch;
  std::vector<float> rollout_logp;  // what the sampler reported
  std::vector<float> old_logp;      // the ratio's denominator: rollout_logp or the recomputation
  std::vector<float> weights;       // the correction's per-token weights (empty: none)
  std::vector<uint8_t> mask;
  std::vector<uint8_t> truncated;
  std::vector<double> advantages;
};

UpdateRows make_rows(const std::vector<Rollout>& rollouts, std::span<const int> rows,
                     const std::vector<double>& advantages, int32_t pad) {
  UpdateRows u;
  size_t T = 0;
  for (int i : rows)
    T = std::max(T, rollouts[i].prompt.size() + rollouts[i].completion.tokens.size() - 1);
  const int B = int(rows.size());
  u.batch = {B, int(T), std::vector<int32_t>(B * T, pad), std::vector<int32_t>(B * T, -1), {}};
  u.old_logp.assign(B * T, 0.0f);
  u.mask.assign(B * T, 0);
  for (int r = 0; r < B; ++r) {
    const Rollout& ro = rollouts[rows[r]];
    std::vector<int32_t> seq = ro.prompt;
    seq.insert(seq.end(), ro.completion.tokens.begin(), ro.completion.tokens.end());
    const size_t p = ro.prompt.size();
    for (size_t t = 0; t + 1 < seq.size(); ++t) u.batch.ids[r * T + t] = seq[t];
    for (size_t j = 0; j < ro.completion.tokens.size(); ++j) {
      const size_t pos = r * T + p + j - 1;
      u.batch.targets[pos] = ro.completion.tokens[j];
      u.old_logp[pos] = ro.completion.logprobs[j];  // rollout_logp below
      u.mask[pos] = 1;
    }
    u.truncated.push_back(ro.completion.finish == Completion::Finish::Length);
    u.advantages.push_back(advantages[rows[r]]);
  }
  u.rollout_logp = u.old_logp;
  return u;
}

// Log-probability of every target (0 where none) and, when asked, the entropy at each position.
std::vector<float> token_logp(Transformer& model, const Batch& b, std::vector<float>* entropy) {
  model.forward(b.ids, b.targets, b.B, b.T);
  std::vector<float> logp(size_t(b.B) * b.T);
  if (entropy) entropy->resize(logp.size());
  model.read_token_stats(logp.data(), entropy ? entropy->data() : nullptr);
  for (float& x : logp) x = -x;
  return logp;
}

// The aggregation's denominator over the whole update, so micro-batches add up exactly: counted
// tokens (token), sequences with a counted token (sequence), completions (dr_grpo).
double global_count(const std::vector<UpdateRows>& micro, const GrpoConfig& objective) {
  double tokens = 0, sequences = 0, completions = 0;
  for (const auto& u : micro)
    for (int r = 0; r < u.batch.B; ++r) {
      ++completions;
      if (objective.mask_truncated && u.truncated[r]) continue;
      const auto row = std::span(u.mask).subspan(size_t(r) * u.batch.T, u.batch.T);
      const double counted = double(std::count(row.begin(), row.end(), uint8_t(1)));
      tokens += counted, sequences += counted > 0;
    }
  switch (objective.aggregation) {
    case LossAggregation::Token: return tokens;
    case LossAggregation::Sequence: return sequences;
    case LossAggregation::DrGrpo: return completions;
  }
  return tokens;
}
// The sampler against the trainer over every counted token of the update (the input masks).
MismatchStats mismatch_of(const std::vector<UpdateRows>& micro,
                          const std::vector<std::vector<float>>& train) {
  std::vector<float> r, t;
  for (size_t m = 0; m < micro.size(); ++m)
    for (size_t i = 0; i < micro[m].mask.size(); ++i)
      if (micro[m].mask[i]) r.push_back(micro[m].rollout_logp[i]), t.push_back(train[m][i]);
  const std::vector<uint8_t> all(r.size(), 1);
  return measure_mismatch(r, t, all, 1, int(r.size()));
}

// Applies the correction to every micro-batch (masks and weights replaced) and sums its stats.
CorrectionStats correct(std::vector<UpdateRows>& micro, const std::vector<std::vector<float>>& train,
                        const CorrectionConfig& cfg) {
  CorrectionStats total;
  double sum_w = 0, sum_w2 = 0;
  for (size_t m = 0; m < micro.size(); ++m) {
    UpdateRows& u = micro[m];
    Correction c = apply_correction(u.rollout_logp, train[m], u.mask, u.batch.B, u.batch.T, cfg);
    total.tokens += c.stats.tokens, total.kept_tokens += c.stats.kept_tokens;
    total.sequences += c.stats.sequences, total.masked_sequences += c.stats.masked_sequences;
    for (size_t i = 0; i < c.mask.size(); ++i)
      if (c.mask[i]) {
        sum_w += c.weights[i], sum_w2 += double(c.weights[i]) * c.weights[i];
        total.max_weight = std::max(total.max_weight, double(c.weights[i]));
      }
    u.mask = std::move(c.mask);
    u.weights = std::move(c.weights);
  }
  if (total.tokens > 0) total.masked_fraction = double(total.tokens - total.kept_tokens) / double(total.tokens);
  if (total.kept_tokens > 0) {
    total.mean_weight = sum_w / double(total.kept_tokens);
    total.ess = sum_w2 > 0 ? sum_w * sum_w / (double(total.kept_tokens) * sum_w2) : 0.0;
  }
  return total;
}

// Every rank's fields added up, but for field `largest`, which keeps the largest (all >= 0).
template <size_t N>
std::array<double, N> over_ranks(const std::array<double, N>& mine, size_t largest,
                                 Communicator& comm) {
  const std::vector<double> all = comm.all_gather(mine);
  std::array<double, N> out{};
  for (size_t r = 0; r < all.size(); r += N)
    for (size_t i = 0; i < N; ++i)
      out[i] = i == largest ? std::max(out[i], all[r + i]) : out[i] + all[r + i];
  return out;
}

// A rank's mismatch figures merged with every other's: token-weighted means (perplexities through
// their mean log-probability), the largest gap.
MismatchStats over_ranks(const MismatchStats& m, Communicator& comm) {
  const double n = double(m.tokens);
  const std::array<double, 9> mine{n,
                                   n * m.mean_abs_prob_diff,
                                   m.max_abs_prob_diff,
                                   n * m.kl_k1,
                                   n * m.kl_k3,
                                   m.tokens ? -n * std::log(m.rollout_ppl) : 0.0,
                                   m.tokens ? -n * std::log(m.train_ppl) : 0.0,
                                   n * m.frac_beyond_2x,
                                   n * m.frac_beyond_1_25x};
  const std::array<double, 9> sum = over_ranks(mine, 2, comm);
  MismatchStats out;
  out.tokens = int64_t(sum[0]);
  if (out.tokens == 0) return out;
  const double t = sum[0];
  out.mean_abs_prob_diff = sum[1] / t, out.max_abs_prob_diff = sum[2];
  out.kl_k1 = sum[3] / t, out.kl_k3 = sum[4] / t;
  out.rollout_ppl = std::exp(-sum[5] / t), out.train_ppl = std::exp(-sum[6] / t);
  out.frac_beyond_2x = sum[7] / t, out.frac_beyond_1_25x = sum[8] / t;
  return out;
}

// The same for the correction: counts add, the weights' mean and effective sample size through
// their sums (sum w, sum w^2), the largest weight.
CorrectionStats over_ranks(const CorrectionStats& c, Communicator& comm) {
  const double kept = double(c.kept_tokens);
  const double sum_w = c.mean_weight * kept;
  const double sum_w2 = c.ess > 0 ? sum_w * sum_w / (kept * c.ess) : 0.0;
  const std::array<double, 7> mine{double(c.tokens), kept, double(c.sequences),
                                   double(c.masked_sequences), sum_w, sum_w2, c.max_weight};
  const std::array<double, 7> sum = over_ranks(mine, 6, comm);
  CorrectionStats out;
  out.tokens = int64_t(sum[0]), out.kept_tokens = int64_t(sum[1]);
  out.sequences = int(sum[2]), out.masked_sequences = int(sum[3]);
  if (out.tokens > 0) out.masked_fraction = (sum[0] - sum[1]) / sum[0];
  if (out.kept_tokens > 0) {
    out.mean_weight = sum[4] / sum[1], out.max_weight = sum[6];
    out.ess = sum[5] > 0 ? sum[4] * sum[4] / (sum[1] * sum[5]) : 0.0;
  }
  return out;
}
}  // namespace

PolicyUpdateStats policy_update(Transformer& policy, AdamW& optimizer, Transformer* reference,
                                const std::vector<Rollout>& rollouts, const std::vector<int>& rows,
                                const std::vector<double>& advantages,
                                const PolicyUpdateConfig& cfg, Communicator& comm) {
  PolicyUpdateStats out;
  // Every rank takes part in the collectives below, rows or none; no rank has any: no update.
  if (comm.all_reduce_sum(double(rows.size())) == 0) return out;
  std::vector<UpdateRows> micro;
  for (size_t i = 0; i < rows.size(); i += cfg.micro_batch)
    micro.push_back(make_rows(rollouts,
                              std::span(rows).subspan(i, std::min<size_t>(cfg.micro_batch, rows.size() - i)),
                              advantages, cfg.pad));
  std::vector<std::vector<float>> ref_logp(micro.size());
  if (reference)
    for (size_t m = 0; m < micro.size(); ++m)
      ref_logp[m] = token_logp(*reference, micro[m].batch, nullptr);
  // The trainer's own log-probabilities under the weights that sampled: computed first when the
  // ratio or the correction needs them (a forward pass more), else taken from the first epoch's
  // forward, which computes exactly them, for the mismatch metrics alone.
  std::vector<std::vector<float>> train(micro.size());
  const bool correcting = cfg.correction.mode != RolloutCorrection::None;
  if (cfg.recompute_old || correcting) {
    for (size_t m = 0; m < micro.size(); ++m) train[m] = token_logp(policy, micro[m].batch, nullptr);
    out.mismatch = mismatch_of(micro, train);
    if (correcting) out.correction = correct(micro, train, cfg.correction);
    // A correction weighs the sampler against the trainer, so the ratio is the trainer's own.
    for (size_t m = 0; m < micro.size(); ++m) micro[m].old_logp = train[m];
  }
  const double global = comm.all_reduce_sum(global_count(micro, cfg.objective));
  for (int e = 0; e < cfg.epochs; ++e) {
    policy.zero_grads();
    double loss = 0, entropy = 0, kl = 0, clip = 0, ratio = 0;
    int64_t counted = 0;
    for (size_t m = 0; m < micro.size(); ++m) {
      const UpdateRows& u = micro[m];
      std::vector<float> ent;
      const std::vector<float> logp = token_logp(policy, u.batch, &ent);
      if (e == 0 && train[m].empty()) train[m] = logp;
      const GrpoBatch gb{u.batch.B, u.batch.T, logp, u.old_logp, ref_logp[m], u.advantages, u.mask,
                         cfg.objective.mask_truncated ? std::span<const uint8_t>(u.truncated)
                                                      : std::span<const uint8_t>(),
                         global, u.weights};
      const GrpoResult res = grpo_loss(gb, cfg.objective);
      loss += res.loss;
      for (size_t i = 0; i < ent.size(); ++i) entropy += u.mask[i] ? ent[i] : 0.0;
      const double n = double(res.stats.tokens);
      counted += res.stats.tokens;
      clip += res.stats.clip_total * n, kl += res.stats.mean_kl * n, ratio += res.stats.mean_ratio * n;
      policy.backward(to_dnll(res.dlogp));
      out.tokens += int64_t(logp.size());
    }
    std::array<double, 6> sums{loss, entropy, kl, clip, ratio, double(counted)};
    comm.all_reduce_sum(sums);  // the whole update's figures, on every rank
    const double t = std::max(sums[5], 1.0);
    out.loss = sums[0], out.entropy = sums[1] / t, out.kl = sums[2] / t;
    out.clip_fraction = sums[3] / t, out.ratio = sums[4] / t;
    const UpdateOutcome u = optimizer_step(policy, optimizer, comm, cfg.lr, cfg.max_grad_norm,
                                           out.loss);
    out.grad_norm = u.grad_norm;
    out.skipped += !u.applied;
    if (e == 0 && !cfg.recompute_old && !correcting) out.mismatch = mismatch_of(micro, train);
  }
  if (comm.size() > 1) {
    out.tokens = int64_t(comm.all_reduce_sum(double(out.tokens)));
    out.mismatch = over_ranks(out.mismatch, comm);
    out.correction = over_ranks(out.correction, comm);
  }
  return out;
}

}  // namespace tandem
