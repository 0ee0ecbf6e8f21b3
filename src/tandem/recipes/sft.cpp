#include "tandem/recipes/sft.h"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>

#include "tandem/core/error.h"
#include "tandem/core/progress.h"
#include "tandem/core/signals.h"
#include "tandem/data/sft_batches.h"
#include "tandem/data/tasks/task.h"
#include "tandem/model/presets.h"
#include "tandem/recipes/model_dir.h"
#include "tandem/rl/rollout.h"
#include "tandem/train/checkpoint.h"

namespace fs = std::filesystem;

namespace tandem {

namespace {
void log_eval(MetricsLog& metrics, const Transformer& model, const Tokenizer& tok,
              const tasks::Task& task, const SftConfig& cfg, int64_t step) {
  for (int level = 1; level <= task.num_levels(); ++level) {
    const LevelAccuracy acc =
        evaluate_level(model, tok, task, level, cfg.eval_problems, cfg.seed);
    metrics.write({{"kind", "eval"}, {"step", step}, {"level", level}, {"problems", acc.problems},
                   {"accuracy", acc.accuracy}, {"format_rate", acc.format_rate},
                   {"mean_tokens", acc.mean_tokens}});
  }
}
}  // namespace

SftResult run_sft(const SftConfig& cfg, MetricsLog& metrics) {
  TANDEM_CHECK(cfg.levels.size() == cfg.level_weights.size(),
               "--levels and --level-weights must have the same length");
  TANDEM_CHECK(cfg.steps > 0 && cfg.batch > 0, "--steps and --batch must be positive");
  const auto task = tasks::make_task(cfg.task);
  for (int level : cfg.levels)
    TANDEM_CHECK(level >= 1 && level <= task->num_levels(), "--levels: level {} outside 1..{}",
                 level, task->num_levels());
  LoadedModel lm;
  if (!cfg.init_from.empty()) {
    lm = load_model(cfg.init_from, cfg.backend);
  } else {
    lm.backend = make_backend(cfg.backend);
    lm.tokenizer = demo_tokenizer();
    lm.model = std::make_unique<Transformer>(*lm.backend,
                                             model_preset(cfg.preset, lm.tokenizer.vocab_size()));
    lm.model->init_random(cfg.seed);
  }
  Transformer& model = *lm.model;
  const Tokenizer& tok = lm.tokenizer;
  TrainConfig tc;
  tc.lr = {cfg.lr, cfg.min_lr, cfg.warmup, cfg.steps};
  tc.adamw.weight_decay = cfg.weight_decay;
  tc.max_grad_norm = cfg.max_grad_norm;
  Trainer trainer(model, tc);
  const SftMix mix{cfg.levels, cfg.level_weights};
  fs::create_directories(cfg.out_dir + "/checkpoints");
  auto checkpoint = [&](const std::string& dir, int64_t step) {
    TrainerState st;
    st.step = step, st.adam_step = trainer.optimizer().step(), st.seed = cfg.seed;
    st.data_position = step;
    save_checkpoint(dir, trainer, st, [&](const std::string& d) { save_tokenizer(tok, d); });
  };

  SftResult result;
  install_stop_handler();
  Progress bar("train", cfg.steps);
  const auto start = std::chrono::steady_clock::now();
  int64_t tokens = 0;
  double loss_ema = 0;
  int64_t step = 0;
  for (; step < cfg.steps && !stop_requested(); ++step) {
    if (cfg.eval_every > 0 && step % cfg.eval_every == 0 && step > 0)
      log_eval(metrics, model, tok, *task, cfg, step);
    const Batch batch = sft_batch(*task, tok, mix, cfg.seed, step, cfg.batch);
    const StepStats s = trainer.step(std::span(&batch, 1));
    tokens += s.tokens;
    loss_ema = step == 0 ? s.loss : 0.95 * loss_ema + 0.05 * s.loss;
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (step % cfg.log_every == 0 || step + 1 == cfg.steps)
      metrics.write({{"kind", "train"}, {"step", step + 1}, {"loss", s.loss}, {"lr", s.lr},
                     {"grad_norm", s.grad_norm}, {"tokens", tokens},
                     {"tokens_per_s", tokens / secs}, {"elapsed_s", secs}, {"skipped", s.skipped}});
    bar.update(step + 1, fmt::format("loss {:.3f} | {} tok/s", loss_ema, format_count(tokens / secs)));
    if (cfg.checkpoint_every > 0 && (step + 1) % cfg.checkpoint_every == 0 && step + 1 < cfg.steps)
      checkpoint(fmt::format("{}/checkpoints/step-{:06}", cfg.out_dir, step + 1), step + 1);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.tokens_per_s = tokens / std::max(result.seconds, 1e-9);
  result.steps_done = step;
  result.interrupted = step < cfg.steps;
  bar.finish(fmt::format("loss {:.3f} | {} tok/s", loss_ema, format_count(result.tokens_per_s)));
  result.model_dir = cfg.out_dir + "/model";
  fs::remove_all(result.model_dir);
  checkpoint(result.model_dir, step);
  return result;
}

}  // namespace tandem
