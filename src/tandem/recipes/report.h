#pragma once
// The run report: curves drawn from metrics.jsonl (loss.svg, accuracy.svg) and report.md with the
// final accuracy per level and a few reasoning traces.
#include <string>
#include <vector>

#include "tandem/rl/rollout.h"

namespace tandem {

struct LevelReport {
  LevelAccuracy accuracy;
  std::string level_name;
  std::vector<Rollout> traces;  // a few, shown verbatim
};

struct RunSummary {
  std::string title;
  std::string command;  // how to reproduce
  std::vector<std::string> facts;  // "- key: value" lines (time, tokens/s, parameters, ...)
  std::vector<LevelReport> levels;
  // When set: accuracy per level before the last phase (e.g. after supervised training, with
  // `levels` after GRPO); the table then shows both and the change.
  std::vector<LevelAccuracy> before;
  std::string before_label = "before", after_label = "after";
  std::string appendix;  // markdown added at the end (e.g. the GRPO curves)
};

// From out_dir/metrics.jsonl: loss.svg (training loss, and validation loss when recorded) and
// accuracy.svg (held-out accuracy per level, when evaluated).
void write_training_charts(const std::string& out_dir);
// Writes those charts and out_dir/report.md.
void write_run_report(const std::string& out_dir, const RunSummary& summary);

}  // namespace tandem
