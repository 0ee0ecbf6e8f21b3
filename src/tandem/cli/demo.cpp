// tandem demo: the main job. Trains the embedded default model from scratch on the arithmetic
// task, evaluates it on held-out problems at every level, improves it with GRPO on the level it
// finds hardest-but-learnable, evaluates again, and writes a run directory with both models,
// metrics.jsonl, curves and report.md (accuracy before and after GRPO at every level).
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "tandem/cli/sft_options.h"
#include "tandem/core/progress.h"
#include "tandem/data/tasks/task.h"
#include "tandem/recipes/grpo.h"
#include "tandem/recipes/grpo_report.h"
#include "tandem/recipes/model_dir.h"
#include "tandem/recipes/report.h"

namespace tandem::cli {

namespace {
struct DemoArgs {
  SftConfig sft;
  GrpoRunConfig grpo;  // model, run directory, task, seed and backend come from the demo
  int final_problems = 1000;
  int traces = 2;
};

// Greedy held-out accuracy at every level of the task, with a progress bar per level.
std::vector<LevelReport> evaluate_levels(const std::string& model_dir, const DemoArgs& a,
                                         const std::string& phase, int64_t step,
                                         MetricsLog& metrics) {
  const LoadedModel lm = load_model(model_dir, a.sft.backend);
  const auto task = tasks::make_task(a.sft.task);
  std::printf("\nheld-out exact match after %s, %d problems per level (greedy):\n", phase.c_str(),
              a.final_problems);
  std::vector<LevelReport> out;
  for (int level = 1; level <= task->num_levels(); ++level) {
    LevelReport rep;
    rep.level_name = task->level_name(level);
    std::vector<Rollout> rollouts;
    Progress bar(fmt::format("eval level {}", level), a.final_problems);
    rep.accuracy = evaluate_level(*lm.model, lm.tokenizer, *task, level, a.final_problems,
                                  a.sft.seed, 64, &rollouts);
    bar.update(a.final_problems);
    bar.finish(fmt::format("accuracy {:.1f}%", 100 * rep.accuracy.accuracy));
    metrics.write({{"kind", "eval"}, {"phase", phase}, {"step", step}, {"level", level},
                   {"problems", rep.accuracy.problems}, {"accuracy", rep.accuracy.accuracy},
                   {"format_rate", rep.accuracy.format_rate}, {"final", true}});
    for (int i = 0; i < a.traces && i < int(rollouts.size()); ++i) rep.traces.push_back(rollouts[i]);
    out.push_back(std::move(rep));
  }
  return out;
}

void run_demo(DemoArgs a) {
  std::filesystem::create_directories(a.sft.out_dir);
  const std::string metrics_path = a.sft.out_dir + "/metrics.jsonl";
  if (!a.sft.resume) {  // a demo run starts afresh unless told to --resume
    std::filesystem::remove(metrics_path);
    std::filesystem::remove_all(a.sft.out_dir + "/checkpoints");
  }
  MetricsLog metrics(metrics_path);
  std::printf("tandem demo: training a %s model from scratch on '%s' (seed %llu) into %s\n",
              a.sft.preset.c_str(), a.sft.task.c_str(), (unsigned long long)a.sft.seed,
              a.sft.out_dir.c_str());
  const SftResult sft = run_sft(a.sft, metrics);
  if (sft.interrupted) {  // Ctrl-C: the checkpoint is written; skip the long final evaluation
    std::printf("stopped after %lld steps; checkpoint in %s (tandem eval %s to evaluate it; "
                "the same command with --resume continues)\n",
                (long long)sft.steps_done, sft.model_dir.c_str(), sft.model_dir.c_str());
    return;
  }
  const LoadedModel lm = load_model(sft.model_dir, a.sft.backend);
  RunSummary summary;
  summary.title = fmt::format("tandem demo: {} task, seed {}", a.sft.task, a.sft.seed);
  summary.command = fmt::format("tandem demo --seed {} --out {}", a.sft.seed, a.sft.out_dir);
  summary.facts = {
      fmt::format("model: preset `{}`, {} parameters, vocabulary {} (bytes + chat tokens)",
                  a.sft.preset, lm.model->layout().total, lm.tokenizer.vocab_size()),
      fmt::format("supervised training: {} steps of {} problems in {}, {:.0f} tokens/s",
                  sft.steps_done, a.sft.batch, format_duration(sft.seconds), sft.tokens_per_s),
      fmt::format("supervised model: `{}` (HF layout + tokenizer)", sft.model_dir)};
  summary.levels = evaluate_levels(sft.model_dir, a, "sft", sft.steps_done, metrics);

  if (a.grpo.steps > 0) {
    GrpoRunConfig& g = a.grpo;
    g.init_from = sft.model_dir, g.out_dir = a.sft.out_dir + "/grpo";
    g.task = a.sft.task, g.seed = a.sft.seed, g.backend = a.sft.backend;
    g.eval_seed = a.sft.seed;  // the problems the supervised model was just evaluated on
    g.initial_eval = false, g.final_eval_problems = 0;  // the demo evaluates before and after
    std::filesystem::remove_all(g.out_dir);  // the demo's own GRPO folder starts afresh
    std::filesystem::create_directories(g.out_dir);
    std::printf("\nGRPO on level(s) %s: %lld steps of %d prompts x %d completions\n",
                fmt::format("{}", fmt::join(g.levels, ",")).c_str(), (long long)g.steps, g.prompts,
                g.group_size);
    MetricsLog grpo_metrics(g.out_dir + "/metrics.jsonl");
    const GrpoRunResult rl = run_grpo(g, grpo_metrics);
    summary.facts.push_back(fmt::format("GRPO: {} steps on level(s) {} in {}{}; model `{}`",
                                        rl.steps_done, fmt::join(g.levels, ","),
                                        format_duration(rl.seconds),
                                        rl.interrupted ? " (interrupted)" : "", rl.model_dir));
    for (const LevelReport& l : summary.levels) summary.before.push_back(l.accuracy);
    summary.levels = evaluate_levels(rl.model_dir, a, "grpo", rl.steps_done, metrics);
    summary.before_label = "after SFT", summary.after_label = "after GRPO";
    summary.appendix = "\n## GRPO curves\n\n" + write_grpo_charts(g.out_dir, "grpo/");
  }
  write_run_report(a.sft.out_dir, summary);
  const bool both = !summary.before.empty();
  std::printf("\n%-6s %-30s %10s%s\n", "level", "what", both ? "after SFT" : "accuracy",
              both ? "  after GRPO" : "");
  for (size_t i = 0; i < summary.levels.size(); ++i) {
    const LevelReport& l = summary.levels[i];
    if (both)
      std::printf("%-6d %-30s %9.1f%% %10.1f%%\n", l.accuracy.level, l.level_name.c_str(),
                  100 * summary.before[i].accuracy, 100 * l.accuracy.accuracy);
    else
      std::printf("%-6d %-30s %9.1f%%\n", l.accuracy.level, l.level_name.c_str(),
                  100 * l.accuracy.accuracy);
  }
  if (!summary.levels.empty() && !summary.levels[0].traces.empty()) {
    const Rollout& r = summary.levels[0].traces[0];
    std::printf("\nexample reasoning trace (level 1):\n%s%s\n", r.problem.prompt.c_str(),
                r.completion.text.c_str());
  }
  std::printf("\nreport: %s/report.md (curves: loss.svg, accuracy.svg, grpo/*.svg; metrics.jsonl)\n",
              a.sft.out_dir.c_str());
}
}  // namespace

void add_demo_command(CLI::App& app) {
  auto a = std::make_shared<DemoArgs>();  // GRPO phase: tandem grpo's defaults (docs/grpo.md)
  auto* cmd = app.add_subcommand(
      "demo",
      "The main job: train the default model from scratch on arithmetic, evaluate, improve it with "
      "GRPO, evaluate again, report");
  add_sft_options(cmd, a->sft);
  cmd->add_option("--final-problems", a->final_problems, "Held-out problems per level at the end")
      ->capture_default_str()->check(kPositive);
  cmd->add_option("--grpo-steps", a->grpo.steps, "GRPO steps after supervised training (0: none)")
      ->capture_default_str()->check(kNonNegative);
  cmd->add_option("--grpo-levels", a->grpo.levels, "Levels GRPO draws its prompts from")
      ->capture_default_str()->delimiter(',');
  cmd->add_option("--grpo-prompts", a->grpo.prompts, "GRPO prompts per step")
      ->capture_default_str()->check(kPositive);
  cmd->add_option("--grpo-lr", a->grpo.lr, "GRPO learning rate")->capture_default_str()
      ->check(kPositive);
  cmd->callback([a] { run_demo(*a); });
}

}  // namespace tandem::cli
