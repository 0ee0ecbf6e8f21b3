#include "tandem/recipes/report.h"

#include <fmt/format.h>

#include <map>

#include "tandem/io/file.h"
#include "tandem/report/metrics_log.h"
#include "tandem/report/svg_chart.h"

namespace tandem {

void write_training_charts(const std::string& dir) {
  const auto all = read_metrics(dir + "/metrics.jsonl");
  Series loss{"train loss", {}, {}};
  for (const records::Train& r : records::train_records(all)) {
    loss.x.push_back(double(r.step));
    loss.y.push_back(r.loss);
  }
  Series val{"validation loss", {}, {}};
  for (const records::Validation& r : records::validation_records(all)) {
    val.x.push_back(double(r.step));
    val.y.push_back(r.loss);
  }
  std::vector<Series> losses{loss};
  if (!val.x.empty()) losses.push_back(val);
  std::map<int, Series> acc;
  for (const records::Eval& r : records::eval_records(all)) {
    if (r.phase != "sft") continue;  // GRPO has its own charts
    Series& s = acc[r.level];
    s.label = fmt::format("level {}", r.level);
    s.x.push_back(double(r.step));
    s.y.push_back(r.accuracy);
  }
  write_file_atomic(dir + "/loss.svg",
                    svg_line_chart({"Training loss", "step", "mean NLL per target token (log)",
                                    true, std::nullopt, std::nullopt},
                                   losses));
  if (acc.empty()) return;  // a run on the user's data without a task to evaluate
  std::vector<Series> acc_series;
  for (auto& [level, s] : acc) acc_series.push_back(s);
  write_file_atomic(dir + "/accuracy.svg",
                    svg_line_chart({"Held-out exact-match accuracy", "step", "accuracy", false, 0.0,
                                    1.0},
                                   acc_series));
}

namespace {

std::string fence(const std::string& text) { return "```\n" + text + "\n```\n"; }
}  // namespace

void write_run_report(const std::string& dir, const RunSummary& s) {
  write_training_charts(dir);
  std::string md = fmt::format("# {}\n\n", s.title);
  if (!s.command.empty()) md += fmt::format("Reproduce: `{}`\n\n", s.command);
  for (const auto& f : s.facts) md += "- " + f + "\n";
  md += "\n## Held-out accuracy (greedy decoding, exact match)\n\n";
  if (s.before.size() == s.levels.size() && !s.before.empty()) {
    md += fmt::format("| level | what | problems | {} | {} | change | well-formed | mean tokens |\n"
                      "|---|---|---|---|---|---|---|---|\n",
                      s.before_label, s.after_label);
    for (size_t i = 0; i < s.levels.size(); ++i) {
      const LevelAccuracy& a = s.levels[i].accuracy;
      const double b = s.before[i].accuracy;
      md += fmt::format("| {} | {} | {} | {:.1f}% | {:.1f}% | {:+.1f} | {:.1f}% | {:.1f} |\n", a.level,
                        s.levels[i].level_name, a.problems, 100 * b, 100 * a.accuracy,
                        100 * (a.accuracy - b), 100 * a.format_rate, a.mean_tokens);
    }
  } else {
    md += "| level | what | problems | accuracy | well-formed | mean tokens |\n|---|---|---|---|---|---|\n";
    for (const auto& l : s.levels)
      md += fmt::format("| {} | {} | {} | {:.1f}% | {:.1f}% | {:.1f} |\n", l.accuracy.level,
                        l.level_name, l.accuracy.problems, 100 * l.accuracy.accuracy,
                        100 * l.accuracy.format_rate, l.accuracy.mean_tokens);
  }
  md += "\n![training loss](loss.svg)\n\n![held-out accuracy](accuracy.svg)\n\n## Reasoning traces\n\n";
  for (const auto& l : s.levels)
    for (const auto& r : l.traces) {
      md += fmt::format("Level {} ({}): {}\n", l.accuracy.level, r.score.correct ? "correct" : "wrong",
                        r.problem.prompt);
      md += fence(r.completion.text);
      if (!r.score.correct) md += fmt::format("Expected answer {} ({}).\n", r.problem.answer, r.score.reason);
      md += "\n";
    }
  md += s.appendix;
  write_file_atomic(dir + "/report.md", md);
}

}  // namespace tandem
