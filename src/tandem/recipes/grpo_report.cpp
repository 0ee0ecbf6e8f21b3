#include "tandem/recipes/grpo_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <vector>

#include "tandem/core/progress.h"
#include "tandem/io/file.h"
#include "tandem/report/metrics_log.h"
#include "tandem/report/svg_chart.h"

namespace tandem {

namespace {
struct Field {
  double records::Grpo::*value;
  const char* label;
};

// One series per field, over the GRPO steps. For a log axis, points <= 0 are left out and a
// series with none left is dropped: a KL of exactly 0 (beta 0, no reference) would otherwise sit
// on the axis floor and squeeze the other lines into the top of the chart.
std::vector<Series> series_of(const std::vector<records::Grpo>& steps,
                              const std::vector<Field>& fields, bool positive_only = false) {
  std::vector<Series> out;
  for (const Field& f : fields) {
    Series s{f.label, {}, {}};
    for (const records::Grpo& r : steps) {
      const double y = r.*f.value;
      if (positive_only && !(y > 0)) continue;
      s.x.push_back(double(r.step));
      s.y.push_back(y);
    }
    if (!positive_only || !s.x.empty()) out.push_back(std::move(s));
  }
  return out;
}

struct LevelEvals {
  std::map<int, std::vector<std::pair<double, double>>> by_level;  // level -> (step, accuracy)
  std::map<int, std::pair<int, int>> problems;                     // level -> (first, last)
};

LevelEvals grpo_evals(const std::vector<nlohmann::json>& all) {
  LevelEvals e;
  for (const records::Eval& r : records::eval_records(all))
    if (r.phase == "grpo") {
      auto& v = e.by_level[r.level];
      v.emplace_back(double(r.step), r.accuracy);
      auto& p = e.problems[r.level];
      if (v.size() == 1) p.first = r.problems;
      p.second = r.problems;
    }
  return e;
}
}  // namespace

std::string write_grpo_charts(const std::string& dir, const std::string& link_prefix,
                              const std::vector<HeldoutPoint>& bounds) {
  const auto all = read_metrics(dir + "/metrics.jsonl");
  const std::vector<records::Grpo> steps = records::grpo_records(all);
  using G = records::Grpo;
  struct Chart {
    std::string file;
    ChartSpec spec;
    std::vector<Series> series;
  };
  std::vector<Chart> charts = {
      {"grpo_reward.svg", {"GRPO rollouts: reward and accuracy", "step", "per completion", false, 0.0, 1.2},
       series_of(steps, {{&G::reward_mean, "reward mean"},
                         {&G::reward_std, "reward std"},
                         {&G::accuracy, "accuracy"},
                         {&G::format_rate, "format rate"}})},
      {"grpo_policy.svg",
       {"GRPO policy: entropy and KL to the reference", "step", "nats per token (log)", true, {}, {}},
       series_of(steps, {{&G::entropy, "entropy"}, {&G::kl, "KL to reference"}}, true)},
      // Linear: with one epoch per batch the ratio is exactly 1 and nothing is clipped.
      {"grpo_clip.svg", {"GRPO clipping", "step", "fraction of tokens", false, 0.0, {}},
       series_of(steps, {{&G::clip_fraction, "clip fraction"}})},
      {"grpo_length.svg", {"GRPO rollouts: response length", "step", "tokens", false, 0.0, {}},
       series_of(steps, {{&G::mean_length, "mean length"}})},
      {"grpo_throughput.svg", {"GRPO throughput", "step", "tokens/s", false, 0.0, {}},
       series_of(steps, {{&G::rollout_tokens_per_s, "rollout (decode)"},
                         {&G::update_tokens_per_s, "update (fwd+bwd)"}})}};
  std::vector<Series> heldout;
  auto by_level = grpo_evals(all).by_level;
  for (const HeldoutPoint& p : bounds) by_level[p.level].emplace_back(p.step, p.accuracy);
  for (auto& [level, points] : by_level) {
    std::stable_sort(points.begin(), points.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    Series s{fmt::format("level {}", level), {}, {}};
    for (const auto& [step, acc] : points) s.x.push_back(step), s.y.push_back(acc);
    heldout.push_back(std::move(s));
  }
  charts.push_back({"grpo_heldout.svg",
                    {"Held-out accuracy during GRPO (greedy)", "step", "accuracy", false, 0.0, 1.0},
                    heldout});
  std::string md;
  for (const Chart& c : charts) {
    write_file_atomic(dir + "/" + c.file, svg_line_chart(c.spec, c.series));
    md += fmt::format("![{}]({}{})\n\n", c.spec.title, link_prefix, c.file);
  }
  return md;
}

std::string grpo_before_after_table(const std::string& dir) {
  const LevelEvals e = grpo_evals(read_metrics(dir + "/metrics.jsonl"));
  if (e.by_level.empty()) return "";
  std::string md =
      "| level | before | after | change | problems (before / after) |\n|---|---|---|---|---|\n";
  for (const auto& [level, points] : e.by_level) {
    const double before = points.front().second, after = points.back().second;
    md += fmt::format("| {} | {:.1f}% | {:.1f}% | {:+.1f} | {} / {} |\n", level, 100 * before,
                      100 * after, 100 * (after - before), e.problems.at(level).first,
                      e.problems.at(level).second);
  }
  return md;
}

void write_grpo_report(const std::string& dir, const std::string& command, double seconds) {
  std::string md = "# tandem grpo\n\n";
  if (!command.empty()) md += fmt::format("Reproduce: `{}`\n\n", command);
  md += fmt::format("- wall time: {}\n\n", format_duration(seconds));
  const std::string table = grpo_before_after_table(dir);
  if (!table.empty()) md += "## Held-out accuracy, first and last evaluation (greedy)\n\n" + table + "\n";
  md += "## Curves\n\n" + write_grpo_charts(dir);
  write_file_atomic(dir + "/report.md", md);
}

}  // namespace tandem
