#pragma once
// Held-out evaluation as every recipe runs it (during supervised training, during GRPO, the
// demo's before and after): greedy accuracy on a fixed set of problems at each level of a task,
// one Eval record per level in metrics.jsonl.
#include <cstdint>
#include <string>
#include <vector>

#include "tandem/comm/communicator.h"
#include "tandem/core/reporter.h"
#include "tandem/data/tasks/task.h"
#include "tandem/model/weights.h"
#include "tandem/recipes/report.h"
#include "tandem/report/metrics_log.h"
#include "tandem/tokenizer/tokenizer.h"

namespace tandem {

struct EvalPlan {
  std::string phase = "sft";  // which model this is, for the record: "sft" or "grpo"
  int64_t step = 0;
  std::vector<int> levels;    // empty: every level of the task
  int problems = 100;         // per level
  uint64_t seed = 1;          // which held-out problems
  bool final = false;         // a before/after evaluation
  int traces = 0;             // completions kept per level, for the report
  bool progress = false;      // a progress bar per level and a line with its accuracy
};

// Under several ranks each decodes its share of the problems and the tallies are summed, so all
// ranks get the figures of one process (traces come from rank 0's share, the first problems).
std::vector<LevelReport> evaluate_levels(const ModelWeights& model, const Tokenizer& tok,
                                         const tasks::Task& task, const EvalPlan& plan,
                                         MetricsLog& metrics, Reporter& reporter,
                                         Communicator& comm = single_process());

// Throws ConfigError naming `field` when a level is outside the task's 1..num_levels().
void check_levels(const tasks::Task& task, const std::vector<int>& levels, const char* field);

// `tandem eval`: the accuracy table of a model directory, per level, with a few completions.
struct EvalJob {
  std::string model_dir;
  std::string task = "arithmetic";
  std::string backend = "cpu";
  std::vector<int> levels;  // empty: all
  int problems = 1000;
  uint64_t seed = 1;
  int traces = 0;           // completions printed per level
};
void run_eval(const EvalJob& job, Reporter& reporter);

}  // namespace tandem
