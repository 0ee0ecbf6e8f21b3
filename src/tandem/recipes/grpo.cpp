#include "tandem/recipes/grpo.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>

#include "tandem/core/error.h"
#include "tandem/core/progress.h"
#include "tandem/core/signals.h"
#include "tandem/data/tasks/task.h"
#include "tandem/io/model_files.h"
#include "tandem/recipes/model_dir.h"
#include "tandem/rl/policy_update.h"
#include "tandem/rl/rollout.h"
#include "tandem/train/checkpoint.h"
#include "tandem/train/checkpoint_manager.h"

namespace fs = std::filesystem;

namespace tandem {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The frozen reference inside a checkpoint: its weights under the HF names, prefix "ref.".
constexpr const char* kReferenceFile = "reference.safetensors";

// Step `step`'s prompts: each drawn G times, so the G samples form one group.
std::vector<tasks::Problem> step_problems(const tasks::Task& task, const GrpoRunConfig& cfg,
                                          int64_t step) {
  std::vector<tasks::Problem> problems;
  for (int i = 0; i < cfg.prompts; ++i) {
    const uint64_t index = uint64_t(step) * cfg.prompts + i;
    const int level = cfg.levels[index % cfg.levels.size()];
    const auto p = task.sample(level, tasks::Split::Train, cfg.seed + 1000003, index);
    for (int g = 0; g < cfg.group_size; ++g) problems.push_back(p);
  }
  return problems;
}

struct RolloutSummary {
  std::vector<double> rewards;
  double correct = 0, formed = 0, length = 0, reward_mean = 0, reward_std = 0;
  int64_t tokens = 0;
};

RolloutSummary summarize(const std::vector<Rollout>& rollouts) {
  RolloutSummary s;
  for (const auto& r : rollouts) {
    s.rewards.push_back(r.score.reward);
    s.correct += r.score.correct, s.formed += r.score.well_formed;
    s.tokens += int64_t(r.completion.tokens.size());
  }
  const double n = double(rollouts.size());
  s.correct /= n, s.formed /= n, s.length = double(s.tokens) / n;
  s.reward_mean = std::accumulate(s.rewards.begin(), s.rewards.end(), 0.0) / n;
  for (double r : s.rewards) s.reward_std += (r - s.reward_mean) * (r - s.reward_mean);
  s.reward_std = std::sqrt(s.reward_std / n);
  return s;
}
}  // namespace

GrpoRunResult run_grpo(const GrpoRunConfig& cfg, MetricsLog& metrics) {
  TANDEM_CHECK(!cfg.init_from.empty(), "grpo needs --init-from MODEL_DIR (a supervised model)");
  TANDEM_CHECK(cfg.group_size >= 2, "--group-size must be at least 2, got {}", cfg.group_size);
  const auto task = tasks::make_task(cfg.task);
  for (int level : cfg.levels)
    TANDEM_CHECK(level >= 1 && level <= task->num_levels(), "--levels: level {} outside 1..{}",
                 level, task->num_levels());
  Loaded<Transformer> lm = load_trainable(cfg.init_from, cfg.backend);
  Transformer& model = *lm.model;
  const Tokenizer& tok = lm.tokenizer;
  std::unique_ptr<Transformer> reference;  // frozen copy for the KL penalty
  if (cfg.objective.beta > 0) {
    reference = std::make_unique<Transformer>(*lm.backend, model.config());
    reference->load_params(model.read_params());
  }
  TrainConfig tc;
  // Warmup, then constant, or a cosine down to min_lr at the last step.
  tc.lr = cfg.min_lr < 0 ? LrSchedule{cfg.lr, cfg.lr, cfg.warmup, cfg.warmup}
                         : LrSchedule{cfg.lr, cfg.min_lr, cfg.warmup, cfg.steps};
  tc.adamw.weight_decay = cfg.weight_decay;
  tc.max_grad_norm = cfg.max_grad_norm;
  Trainer trainer(model, tc);
  PolicyUpdateConfig update;
  update.objective = cfg.objective;
  if (update.objective.aggregation == LossAggregation::DrGrpo &&
      update.objective.max_completion_length <= 0)
    update.objective.max_completion_length = cfg.max_new_tokens;
  update.epochs = cfg.epochs, update.micro_batch = cfg.micro_batch;
  update.max_grad_norm = cfg.max_grad_norm;
  update.pad = std::max(0, tok.find_token("<|endoftext|>"));
  fs::create_directories(cfg.out_dir);

  CheckpointManager checkpoints(cfg.out_dir + "/checkpoints", cfg.keep_last);
  checkpoints.lock();  // one run per folder
  double reward_ema = 0;
  auto write_state = [&](const std::string& dir, int64_t step) {
    TrainerState st;
    st.step = step, st.adam_step = trainer.optimizer().step(), st.seed = cfg.seed;
    st.data_position = step;
    st.extra = {{"reward_ema", reward_ema}};
    write_training_state(dir, trainer, st);
    save_tokenizer(tok, dir);
    if (reference) {
      std::vector<float> ref = reference->read_params();
      write_param_sets(dir + "/" + kReferenceFile, model.layout(), {{"ref.", ref.data()}});
    }
  };
  int64_t step = 0;
  if (cfg.resume) {
    const auto choice = checkpoints.prepare_resume();
    for (const auto& note : choice.notes) std::fprintf(stderr, "tandem: %s\n", note.c_str());
    if (choice.checkpoint) {
      const TrainerState st = load_checkpoint(choice.checkpoint->dir, trainer);
      TANDEM_CHECK(st.seed == cfg.seed, "{}: checkpoint seed {} differs from --seed {}",
                   choice.checkpoint->dir, st.seed, cfg.seed);
      step = st.step;
      reward_ema = st.extra.value("reward_ema", 0.0);
      if (reference) {
        std::vector<float> ref(model.layout().total);
        read_param_sets(choice.checkpoint->dir + "/" + kReferenceFile, model.layout(),
                        {{"ref.", ref.data()}});
        reference->load_params(ref);
      }
      // What the interrupted run logged after this checkpoint is replayed: drop it.
      metrics.retain([&](const nlohmann::json& r) {
        const int64_t s = r.value("step", int64_t(0));
        return r.value("kind", "") == "eval" ? s < step : s <= step;
      });
      std::fprintf(stderr, "tandem: resuming GRPO from %s (step %lld)\n",
                   choice.checkpoint->dir.c_str(), (long long)step);
    } else {
      std::fprintf(stderr, "tandem: no checkpoint in %s: starting GRPO from %s\n",
                   checkpoints.root().c_str(), cfg.init_from.c_str());
      metrics.retain([](const nlohmann::json&) { return false; });
    }
  } else {
    const auto existing = checkpoints.list();
    TANDEM_CHECK(existing.empty(),
                 "{} already holds checkpoints (newest: step {}): pass --resume to continue that "
                 "run, or choose another --out",
                 checkpoints.root(), existing.empty() ? 0 : existing.back().step);
    metrics.retain([](const nlohmann::json&) { return false; });  // a fresh run, a fresh log
  }
  auto evaluate = [&](int64_t at, int problems) {
    for (int level = 1; level <= task->num_levels(); ++level) {
      const LevelAccuracy acc = evaluate_level(model, tok, *task, level, problems, cfg.eval_seed);
      metrics.write({{"kind", "eval"}, {"phase", "grpo"}, {"step", at}, {"level", level},
                     {"problems", acc.problems}, {"accuracy", acc.accuracy},
                     {"format_rate", acc.format_rate}});
    }
  };

  install_stop_handler();
  Progress bar("grpo", cfg.steps);
  bar.update(step);
  const auto start = Clock::now();
  GrpoRunResult result;
  for (; step < cfg.steps && !stop_requested(); ++step) {
    if (step == 0 && cfg.initial_eval) evaluate(step, cfg.final_eval_problems);
    else if (cfg.eval_every > 0 && step > 0 && step % cfg.eval_every == 0)
      evaluate(step, cfg.eval_problems);
    // 1. Rollouts: G samples of each prompt, each completion its own RNG sequence.
    const auto problems = step_problems(*task, cfg, step);
    RolloutConfig rc;
    rc.generation.max_new_tokens = cfg.max_new_tokens;
    rc.generation.sampling = {cfg.temperature, 0, 1.0f, cfg.seed};
    const auto t0 = Clock::now();
    const auto rollouts = rollout(model, tok, *task, problems, rc, uint64_t(step) * problems.size());
    const double rollout_s = seconds_since(t0);
    // 2. Rewards and advantages; dynamic sampling keeps the groups whose rewards differ.
    const RolloutSummary rs = summarize(rollouts);
    const auto advantages = group_advantages(rs.rewards, cfg.group_size, cfg.scaling);
    std::vector<int> rows;
    if (cfg.dynamic_sampling) {
      for (int g : informative_groups(rs.rewards, cfg.group_size))
        for (int k = 0; k < cfg.group_size; ++k) rows.push_back(g * cfg.group_size + k);
    } else {
      rows.resize(rollouts.size());
      std::iota(rows.begin(), rows.end(), 0);
    }
    // 3. Policy updates against the sampling policy's log-probabilities.
    const auto t1 = Clock::now();
    update.lr = tc.lr.at(step);
    const PolicyUpdateStats us =
        policy_update(model, trainer.optimizer(), reference.get(), rollouts, rows, advantages, update);
    const double update_s = seconds_since(t1);
    reward_ema = step == 0 ? rs.reward_mean : 0.9 * reward_ema + 0.1 * rs.reward_mean;
    metrics.write({{"kind", "grpo"}, {"step", step + 1}, {"reward_mean", rs.reward_mean},
                   {"reward_std", rs.reward_std}, {"accuracy", rs.correct},
                   {"format_rate", rs.formed}, {"mean_length", rs.length}, {"loss", us.loss},
                   {"entropy", us.entropy}, {"kl", us.kl}, {"clip_fraction", us.clip_fraction},
                   {"ratio", us.ratio}, {"grad_norm", us.grad_norm}, {"skipped", us.skipped},
                   {"groups_used", int(rows.size()) / cfg.group_size},
                   {"rollout_tokens_per_s", double(rs.tokens) / rollout_s},
                   {"update_tokens_per_s", rows.empty() ? 0.0 : double(us.tokens) / update_s},
                   {"lr", update.lr}});
    if (us.skipped > 0)
      std::fprintf(stderr, "\ntandem: step %lld: non-finite loss or gradient, %d update(s) skipped\n",
                   (long long)step + 1, us.skipped);
    bar.update(step + 1, fmt::format("reward {:.2f} | acc {:.0f}% | {} groups", reward_ema,
                                     100 * rs.correct, rows.size() / cfg.group_size));
    const bool last = step + 1 == cfg.steps;
    if (cfg.checkpoint_every > 0 && !last &&
        ((step + 1) % cfg.checkpoint_every == 0 || stop_requested()))
      checkpoints.save(step + 1, [&](const std::string& dir) { write_state(dir, step + 1); });
  }
  if (step == cfg.steps && cfg.final_eval_problems > 0) evaluate(step, cfg.final_eval_problems);
  result.seconds = seconds_since(start);
  result.steps_done = step;
  result.interrupted = step < cfg.steps;
  bar.finish();
  result.model_dir = cfg.out_dir + "/model";
  fs::remove_all(result.model_dir);
  save_checkpoint(result.model_dir, trainer,
                  {step, trainer.optimizer().step(), cfg.seed, step, {{"reward_ema", reward_ema}}},
                  [&](const std::string& d) { save_tokenizer(tok, d); });
  return result;
}

}  // namespace tandem
