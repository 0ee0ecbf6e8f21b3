#include "tandem/recipes/demo.h"

#include <fmt/format.h>

#include <filesystem>

#include "tandem/core/error.h"
#include "tandem/core/progress.h"
#include "tandem/data/tasks/task.h"
#include "tandem/recipes/evaluation.h"
#include "tandem/recipes/grpo_report.h"
#include "tandem/recipes/model_dir.h"
#include "tandem/recipes/report.h"

namespace fs = std::filesystem;

namespace tandem {

namespace {

class DemoRun {
 public:
  DemoRun(DemoConfig cfg, Reporter& reporter, Communicator& comm)
      : cfg_(std::move(cfg)), rep_(reporter), comm_(comm), task_(tasks::make_task(cfg_.sft.task)) {}
  void run();

 private:
  std::vector<LevelReport> evaluate(const std::string& model_dir, const std::string& phase,
                                    int64_t step);
  GrpoRunResult grpo(const std::string& sft_model);
  void print_summary(const RunSummary& summary);

  // A metrics file written by rank 0 alone (the others' records are dropped).
  std::unique_ptr<MetricsLog> metrics_at(const std::string& path) const {
    return std::make_unique<MetricsLog>(comm_.leader() ? path : "");
  }

  DemoConfig cfg_;
  Reporter& rep_;
  Communicator& comm_;
  std::unique_ptr<tasks::Task> task_;
  std::unique_ptr<MetricsLog> metrics_;
};

// Greedy held-out accuracy at every level of the task, with a progress bar per level.
std::vector<LevelReport> DemoRun::evaluate(const std::string& model_dir, const std::string& phase,
                                           int64_t step) {
  const LoadedModel lm = load_model(model_dir, cfg_.sft.backend);
  if (cfg_.sft.deterministic) lm.backend->set_batch_invariant(true);
  rep_.result(fmt::format("\nheld-out exact match after {}, {} problems per level (greedy):\n",
                          phase, cfg_.final_problems));
  EvalPlan plan;
  plan.phase = phase, plan.step = step, plan.problems = cfg_.final_problems;
  plan.seed = cfg_.sft.seed, plan.final = true, plan.traces = cfg_.traces, plan.progress = true;
  return evaluate_levels(*lm.model, lm.tokenizer, *task_, plan, *metrics_, rep_, comm_);
}

GrpoRunResult DemoRun::grpo(const std::string& sft_model) {
  GrpoRunConfig& g = cfg_.grpo;
  g.init_from = sft_model, g.out_dir = cfg_.sft.out_dir + "/grpo";
  g.task = cfg_.sft.task, g.seed = cfg_.sft.seed, g.backend = cfg_.sft.backend;
  g.deterministic = cfg_.sft.deterministic;
  g.eval_seed = cfg_.sft.seed;  // the problems the supervised model was just evaluated on
  g.initial_eval = false, g.final_eval_problems = 0;  // the demo evaluates before and after
  if (comm_.leader()) {  // the demo's own GRPO folder starts afresh
    fs::remove_all(g.out_dir);
    fs::create_directories(g.out_dir);
  }
  comm_.barrier();  // no rank goes on before it is there
  rep_.result(fmt::format("\nGRPO on level(s) {}: {} steps of {} prompts x {} completions\n",
                          fmt::join(g.levels, ","), g.steps, g.prompts, g.group_size));
  const std::unique_ptr<MetricsLog> grpo_metrics = metrics_at(g.out_dir + "/metrics.jsonl");
  try {
    return run_grpo(g, *grpo_metrics, rep_, comm_);
  } catch (const ConfigError& e) {
    throw e.prefixed("grpo_");
  }
}

void DemoRun::run() {
  const SftConfig& sft_cfg = cfg_.sft;
  const std::string metrics_path = sft_cfg.out_dir + "/metrics.jsonl";
  if (comm_.leader()) {
    fs::create_directories(sft_cfg.out_dir);
    if (!sft_cfg.resume) {  // a demo run starts afresh unless told to resume
      fs::remove(metrics_path);
      fs::remove_all(sft_cfg.out_dir + "/checkpoints");
    }
  }
  comm_.barrier();  // no rank goes on before it is tidied
  metrics_ = metrics_at(metrics_path);
  rep_.result(fmt::format("tandem demo: training a {} model from scratch on '{}' (seed {}) into {}\n",
                          sft_cfg.preset, sft_cfg.task, sft_cfg.seed, sft_cfg.out_dir));
  const SftResult sft = run_sft(sft_cfg, *metrics_, rep_, comm_);
  if (sft.interrupted) {  // Ctrl-C: the checkpoint is written; skip the long final evaluation
    rep_.result(fmt::format("stopped after {} steps; checkpoint in {} (tandem eval {} to evaluate "
                            "it; the same command with --resume continues)\n",
                            sft.steps_done, sft.model_dir, sft.model_dir));
    return;
  }
  RunSummary summary;
  summary.title = fmt::format("tandem demo: {} task, seed {}", sft_cfg.task, sft_cfg.seed);
  summary.command = fmt::format("tandem demo --seed {} --out {}", sft_cfg.seed, sft_cfg.out_dir);
  {
    const LoadedModel lm = load_model(sft.model_dir, sft_cfg.backend);
    summary.facts = {
        fmt::format("model: preset `{}`, {} parameters, vocabulary {} (bytes + chat tokens)",
                    sft_cfg.preset, lm.model->layout().total, lm.tokenizer.vocab_size()),
        fmt::format("supervised training: {} steps of {} problems in {}, {:.0f} tokens/s",
                    sft.steps_done, sft_cfg.batch, format_duration(sft.seconds), sft.tokens_per_s),
        fmt::format("supervised model: `{}` (HF layout + tokenizer)", sft.model_dir)};
  }
  summary.levels = evaluate(sft.model_dir, "sft", sft.steps_done);
  if (cfg_.grpo.steps > 0) {
    const GrpoRunResult rl = grpo(sft.model_dir);
    const GrpoRunConfig& g = cfg_.grpo;
    summary.facts.push_back(fmt::format("GRPO: {} steps on level(s) {} in {}{}; model `{}`",
                                        rl.steps_done, fmt::join(g.levels, ","),
                                        format_duration(rl.seconds),
                                        rl.interrupted ? " (interrupted)" : "", rl.model_dir));
    for (const LevelReport& l : summary.levels) summary.before.push_back(l.accuracy);
    summary.levels = evaluate(rl.model_dir, "grpo", rl.steps_done);
    summary.before_label = "after SFT", summary.after_label = "after GRPO";
    // The held-out chart runs from the supervised model (step 0) to the final one.
    std::vector<HeldoutPoint> bounds;
    for (const LevelAccuracy& a : summary.before) bounds.push_back({a.level, 0.0, a.accuracy});
    for (const LevelReport& l : summary.levels)
      bounds.push_back({l.accuracy.level, double(rl.steps_done), l.accuracy.accuracy});
    if (comm_.leader())  // the charts are files
      summary.appendix = "\n## GRPO curves\n\n" + write_grpo_charts(g.out_dir, "grpo/", bounds);
  }
  if (!comm_.leader()) return;
  write_run_report(sft_cfg.out_dir, summary);
  print_summary(summary);
}

// The table of accuracies (before and after GRPO when there was a GRPO phase) and one trace.
void DemoRun::print_summary(const RunSummary& summary) {
  const bool both = !summary.before.empty();
  std::string out = fmt::format("\n{:<6} {:<30} {:>10}{}\n", "level", "what",
                                both ? "after SFT" : "accuracy", both ? "  after GRPO" : "");
  for (size_t i = 0; i < summary.levels.size(); ++i) {
    const LevelReport& l = summary.levels[i];
    if (both)
      out += fmt::format("{:<6} {:<30} {:9.1f}% {:10.1f}%\n", l.accuracy.level, l.level_name,
                         100 * summary.before[i].accuracy, 100 * l.accuracy.accuracy);
    else
      out += fmt::format("{:<6} {:<30} {:9.1f}%\n", l.accuracy.level, l.level_name,
                         100 * l.accuracy.accuracy);
  }
  if (!summary.levels.empty() && !summary.levels[0].traces.empty()) {
    const Rollout& r = summary.levels[0].traces[0];
    out += fmt::format("\nexample reasoning trace (level 1):\n{}{}\n", r.problem.prompt,
                       r.completion.text);
  }
  out += fmt::format("\nreport: {}/report.md (curves: loss.svg, accuracy.svg, grpo/*.svg; "
                     "metrics.jsonl)\n",
                     cfg_.sft.out_dir);
  rep_.result(out);
}

}  // namespace

void run_demo(DemoConfig cfg, Reporter& reporter, Communicator& comm) {
  DemoRun(std::move(cfg), reporter, comm).run();
}

}  // namespace tandem
