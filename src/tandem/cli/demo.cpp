// tandem demo: the main job. Trains the embedded default model from scratch on the arithmetic
// task, evaluates it on held-out problems at every level, and writes a run directory with the
// model, metrics.jsonl, curves and report.md.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "tandem/cli/sft_options.h"
#include "tandem/core/progress.h"
#include "tandem/data/tasks/task.h"
#include "tandem/recipes/model_dir.h"
#include "tandem/recipes/report.h"

namespace tandem::cli {

namespace {
struct DemoArgs {
  SftConfig sft;
  int final_problems = 1000;
  int traces = 2;
};

void run_demo(const DemoArgs& a) {
  std::filesystem::create_directories(a.sft.out_dir);
  const std::string metrics_path = a.sft.out_dir + "/metrics.jsonl";
  std::filesystem::remove(metrics_path);  // a demo run starts afresh
  MetricsLog metrics(metrics_path);
  std::printf("tandem demo: training a %s model from scratch on '%s' (seed %llu) into %s\n",
              a.sft.preset.c_str(), a.sft.task.c_str(), (unsigned long long)a.sft.seed,
              a.sft.out_dir.c_str());
  const SftResult sft = run_sft(a.sft, metrics);
  if (sft.interrupted) {  // Ctrl-C: the checkpoint is written; skip the long final evaluation
    std::printf("stopped after %lld steps; checkpoint in %s (tandem eval %s to evaluate it)\n",
                (long long)sft.steps_done, sft.model_dir.c_str(), sft.model_dir.c_str());
    return;
  }
  const LoadedModel lm = load_model(sft.model_dir, a.sft.backend);
  const auto task = tasks::make_task(a.sft.task);
  RunSummary summary;
  summary.title = fmt::format("tandem demo: {} task, seed {}", a.sft.task, a.sft.seed);
  summary.command = fmt::format("tandem demo --seed {} --out {}", a.sft.seed, a.sft.out_dir);
  summary.facts = {
      fmt::format("model: preset `{}`, {} parameters, vocabulary {} (bytes + chat tokens)",
                  a.sft.preset, lm.model->layout().total, lm.tokenizer.vocab_size()),
      fmt::format("training: {} steps of {} problems{} in {}, {:.0f} tokens/s", sft.steps_done,
                  a.sft.batch, sft.interrupted ? " (interrupted)" : "",
                  format_duration(sft.seconds), sft.tokens_per_s),
      fmt::format("model directory: `{}` (HF layout + tokenizer)", sft.model_dir)};
  std::printf("\nheld-out exact match, %d problems per level (greedy):\n", a.final_problems);
  for (int level = 1; level <= task->num_levels(); ++level) {
    LevelReport rep;
    rep.level_name = task->level_name(level);
    std::vector<Rollout> rollouts;
    Progress bar(fmt::format("eval level {}", level), a.final_problems);
    rep.accuracy = evaluate_level(*lm.model, lm.tokenizer, *task, level, a.final_problems,
                                  a.sft.seed, 64, &rollouts);
    bar.update(a.final_problems);
    bar.finish(fmt::format("accuracy {:.1f}%", 100 * rep.accuracy.accuracy));
    metrics.write({{"kind", "eval"}, {"step", sft.steps_done}, {"level", level},
                   {"problems", rep.accuracy.problems}, {"accuracy", rep.accuracy.accuracy},
                   {"format_rate", rep.accuracy.format_rate}, {"final", true}});
    for (int i = 0; i < a.traces && i < int(rollouts.size()); ++i) rep.traces.push_back(rollouts[i]);
    summary.levels.push_back(std::move(rep));
  }
  write_run_report(a.sft.out_dir, summary);
  std::printf("\n%-6s %-30s %9s\n", "level", "what", "accuracy");
  for (const auto& l : summary.levels)
    std::printf("%-6d %-30s %8.1f%%\n", l.accuracy.level, l.level_name.c_str(),
                100 * l.accuracy.accuracy);
  if (!summary.levels.empty() && !summary.levels[0].traces.empty()) {
    const Rollout& r = summary.levels[0].traces[0];
    std::printf("\nexample reasoning trace (level 1):\n%s%s\n", r.problem.prompt.c_str(),
                r.text.c_str());
  }
  std::printf("\nreport: %s/report.md (curves: loss.svg, accuracy.svg; metrics.jsonl)\n",
              a.sft.out_dir.c_str());
}
}  // namespace

void add_demo_command(CLI::App& app) {
  auto a = std::make_shared<DemoArgs>();
  auto* cmd = app.add_subcommand(
      "demo", "The main job: train the default model from scratch on arithmetic, evaluate, report");
  add_sft_options(cmd, a->sft);
  cmd->add_option("--final-problems", a->final_problems, "Held-out problems per level at the end")
      ->capture_default_str()->check(kPositive);
  cmd->callback([a] { run_demo(*a); });
}

}  // namespace tandem::cli
