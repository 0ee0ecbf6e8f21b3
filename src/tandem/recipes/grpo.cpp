#include "tandem/recipes/grpo.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "tandem/core/error.h"
#include "tandem/core/progress.h"
#include "tandem/core/signals.h"
#include "tandem/data/tasks/task.h"
#include "tandem/recipes/model_dir.h"
#include "tandem/rl/rollout.h"
#include "tandem/train/checkpoint.h"

namespace fs = std::filesystem;

namespace tandem {

namespace {
// Completions laid out as training rows: prompt + completion, targets only on completion tokens.
// Position p + j - 1 predicts completion token j, so its old log-probability and mask go there.
struct UpdateBatch {
  Batch batch;
  std::vector<float> old_logp;
  std::vector<uint8_t> mask;
  std::vector<uint8_t> truncated;
  std::vector<double> advantages;
};

UpdateBatch make_rows(const std::vector<Rollout>& rollouts, const std::vector<int>& rows,
                      const std::vector<double>& advantages, int32_t pad) {
  UpdateBatch u;
  size_t T = 0;
  for (int i : rows)
    T = std::max(T, rollouts[i].prompt.size() + rollouts[i].completion.tokens.size() - 1);
  const int B = int(rows.size());
  u.batch = {B, int(T), std::vector<int32_t>(B * T, pad), std::vector<int32_t>(B * T, -1)};
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
      u.old_logp[pos] = ro.completion.logprobs[j];
      u.mask[pos] = 1;
    }
    u.truncated.push_back(ro.completion.finish == Completion::Finish::Length);
    u.advantages.push_back(advantages[rows[r]]);
  }
  return u;
}

std::vector<float> token_logp(Transformer& model, const Batch& b) {
  model.forward(b.ids, b.targets, b.B, b.T);
  std::vector<float> nll(size_t(b.B) * b.T);
  model.read_token_stats(nll.data(), nullptr);
  for (float& x : nll) x = -x;
  return nll;
}
}  // namespace

GrpoRunResult run_grpo(const GrpoRunConfig& cfg, MetricsLog& metrics) {
  TANDEM_CHECK(!cfg.init_from.empty(), "grpo needs --init-from MODEL_DIR (a supervised model)");
  TANDEM_CHECK(cfg.group_size >= 2, "--group-size must be at least 2, got {}", cfg.group_size);
  const auto task = tasks::make_task(cfg.task);
  for (int level : cfg.levels)
    TANDEM_CHECK(level >= 1 && level <= task->num_levels(), "--levels: level {} outside 1..{}",
                 level, task->num_levels());
  LoadedModel lm = load_model(cfg.init_from, cfg.backend);
  Transformer& model = *lm.model;
  const Tokenizer& tok = lm.tokenizer;
  std::unique_ptr<Transformer> reference;  // frozen copy for the KL penalty
  if (cfg.objective.beta > 0) {
    reference = std::make_unique<Transformer>(*lm.backend, model.config());
    reference->load_params(model.read_params());
  }
  TrainConfig tc;
  tc.lr = {cfg.lr, cfg.lr, cfg.warmup, cfg.warmup};  // warmup, then constant
  tc.adamw.weight_decay = cfg.weight_decay;
  tc.max_grad_norm = cfg.max_grad_norm;
  Trainer trainer(model, tc);
  GrpoConfig objective = cfg.objective;
  if (objective.aggregation == LossAggregation::DrGrpo && objective.max_completion_length <= 0)
    objective.max_completion_length = cfg.max_new_tokens;
  const int32_t pad = std::max(0, tok.find_token("<|endoftext|>"));
  fs::create_directories(cfg.out_dir);
  auto checkpoint = [&](const std::string& dir, int64_t step) {
    TrainerState st;
    st.step = step, st.adam_step = trainer.optimizer().step(), st.seed = cfg.seed;
    st.data_position = step;
    save_checkpoint(dir, trainer, st, [&](const std::string& d) { save_tokenizer(tok, d); });
  };
  auto evaluate = [&](int64_t step) {
    for (int level = 1; level <= task->num_levels(); ++level) {
      const LevelAccuracy acc = evaluate_level(model, tok, *task, level, cfg.eval_problems, cfg.seed);
      metrics.write({{"kind", "eval"}, {"phase", "grpo"}, {"step", step}, {"level", level},
                     {"problems", acc.problems}, {"accuracy", acc.accuracy},
                     {"format_rate", acc.format_rate}});
    }
  };

  install_stop_handler();
  Progress bar("grpo", cfg.steps);
  const auto start = std::chrono::steady_clock::now();
  GrpoRunResult result;
  int64_t step = 0;
  double reward_ema = 0;
  for (; step < cfg.steps && !stop_requested(); ++step) {
    if (cfg.eval_every > 0 && step % cfg.eval_every == 0) evaluate(step);
    // 1. Rollouts: G samples of each prompt, drawn as distinct RNG sequences.
    std::vector<tasks::Problem> problems;
    for (int i = 0; i < cfg.prompts; ++i) {
      const uint64_t index = uint64_t(step) * cfg.prompts + i;
      const int level = cfg.levels[index % cfg.levels.size()];
      const auto p = task->sample(level, tasks::Split::Train, cfg.seed + 1000003, index);
      for (int g = 0; g < cfg.group_size; ++g) problems.push_back(p);
    }
    RolloutConfig rc;
    rc.generation.max_new_tokens = cfg.max_new_tokens;
    rc.generation.sampling = {cfg.temperature, 0, 1.0f, cfg.seed};
    const auto t0 = std::chrono::steady_clock::now();
    const auto rollouts =
        rollout(model, tok, *task, problems, rc, uint64_t(step) * problems.size());
    const double rollout_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // 2. Rewards and advantages.
    std::vector<double> rewards;
    double correct = 0, formed = 0, length = 0;
    int64_t rollout_tokens = 0;
    for (const auto& r : rollouts) {
      rewards.push_back(r.score.reward);
      correct += r.score.correct, formed += r.score.well_formed;
      length += double(r.completion.tokens.size());
      rollout_tokens += int64_t(r.completion.tokens.size());
    }
    const auto advantages = group_advantages(rewards, cfg.group_size, cfg.scaling);
    std::vector<int> rows;
    if (cfg.dynamic_sampling) {
      for (int g : informative_groups(rewards, cfg.group_size))
        for (int k = 0; k < cfg.group_size; ++k) rows.push_back(g * cfg.group_size + k);
    } else {
      rows.resize(rollouts.size());
      std::iota(rows.begin(), rows.end(), 0);
    }
    const double n = double(rollouts.size());
    const double mean_reward = std::accumulate(rewards.begin(), rewards.end(), 0.0) / n;
    double var = 0;
    for (double r : rewards) var += (r - mean_reward) * (r - mean_reward);
    // 3. Policy updates against the sampling policy's log-probabilities.
    GrpoStats stats;
    double loss = 0, entropy = 0, grad_norm = 0;
    int64_t update_tokens = 0;
    const auto t1 = std::chrono::steady_clock::now();
    if (!rows.empty()) {
      std::vector<UpdateBatch> micro;
      for (size_t i = 0; i < rows.size(); i += cfg.micro_batch) {
        const std::vector<int> part(rows.begin() + i,
                                    rows.begin() + std::min(rows.size(), i + cfg.micro_batch));
        micro.push_back(make_rows(rollouts, part, advantages, pad));
      }
      std::vector<std::vector<float>> ref_logp(micro.size());
      if (reference)
        for (size_t m = 0; m < micro.size(); ++m) ref_logp[m] = token_logp(*reference, micro[m].batch);
      // The aggregation's denominator over the whole update, so micro-batches add up exactly:
      // counted tokens (token), sequences with a counted token (sequence), completions (dr_grpo).
      double tokens = 0, sequences = 0, completions = 0;
      for (const auto& u : micro)
        for (int r = 0; r < u.batch.B; ++r) {
          ++completions;
          if (objective.mask_truncated && u.truncated[r]) continue;
          const auto row = std::span(u.mask).subspan(size_t(r) * u.batch.T, u.batch.T);
          const double counted = double(std::count(row.begin(), row.end(), uint8_t(1)));
          tokens += counted, sequences += counted > 0;
        }
      const double global = objective.aggregation == LossAggregation::Token      ? tokens
                            : objective.aggregation == LossAggregation::Sequence ? sequences
                                                                                 : completions;
      for (int e = 0; e < cfg.epochs; ++e) {
        model.zero_grads();
        loss = 0, entropy = 0;
        stats = {};
        for (size_t m = 0; m < micro.size(); ++m) {
          const UpdateBatch& u = micro[m];
          const size_t cells = size_t(u.batch.B) * u.batch.T;
          model.forward(u.batch.ids, u.batch.targets, u.batch.B, u.batch.T);
          std::vector<float> logp(cells), ent(cells);
          model.read_token_stats(logp.data(), ent.data());
          for (float& x : logp) x = -x;
          GrpoBatch gb{u.batch.B, u.batch.T, logp, u.old_logp, ref_logp[m], u.advantages, u.mask,
                       objective.mask_truncated ? std::span<const uint8_t>(u.truncated)
                                                : std::span<const uint8_t>(),
                       global};
          const GrpoResult res = grpo_loss(gb, objective);
          loss += res.loss;
          for (size_t i = 0; i < cells; ++i) entropy += u.mask[i] ? ent[i] : 0.0;
          stats.tokens += res.stats.tokens;
          stats.clip_total += res.stats.clip_total * double(res.stats.tokens);
          stats.mean_kl += res.stats.mean_kl * double(res.stats.tokens);
          stats.mean_ratio += res.stats.mean_ratio * double(res.stats.tokens);
          model.backward(to_dnll(res.dlogp));
          update_tokens += int64_t(cells);
        }
        const double t = double(std::max<int64_t>(stats.tokens, 1));
        stats.clip_total /= t, stats.mean_kl /= t, stats.mean_ratio /= t, entropy /= t;
        const GradNorm clip = clip_grad_norm(*lm.backend, model.grads(), model.layout().total,
                                             cfg.max_grad_norm);
        grad_norm = clip.norm;
        if (std::isfinite(loss) && std::isfinite(clip.norm))
          trainer.optimizer().update(model.params(), model.grads(), tc.lr.at(step), clip.scale);
      }
    }
    const double update_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    reward_ema = step == 0 ? mean_reward : 0.9 * reward_ema + 0.1 * mean_reward;
    metrics.write({{"kind", "grpo"}, {"step", step + 1}, {"reward_mean", mean_reward},
                   {"reward_std", std::sqrt(var / n)}, {"accuracy", correct / n},
                   {"format_rate", formed / n}, {"mean_length", length / n}, {"loss", loss},
                   {"entropy", entropy}, {"kl", stats.mean_kl}, {"clip_fraction", stats.clip_total},
                   {"ratio", stats.mean_ratio}, {"grad_norm", grad_norm},
                   {"groups_used", int(rows.size()) / cfg.group_size},
                   {"rollout_tokens_per_s", rollout_tokens / rollout_s},
                   {"update_tokens_per_s", rows.empty() ? 0.0 : update_tokens * cfg.epochs / update_s},
                   {"lr", tc.lr.at(step)}});
    bar.update(step + 1, fmt::format("reward {:.2f} | acc {:.0f}% | {} groups", reward_ema,
                                     100 * correct / n, rows.size() / cfg.group_size));
  }
  if (cfg.eval_every > 0) evaluate(step);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.steps_done = step;
  result.interrupted = step < cfg.steps;
  bar.finish();
  result.model_dir = cfg.out_dir + "/model";
  fs::remove_all(result.model_dir);
  checkpoint(result.model_dir, step);
  return result;
}

}  // namespace tandem
