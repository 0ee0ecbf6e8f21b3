#pragma once
// The main job (`tandem demo`): train the embedded default model from scratch on a task, evaluate
// it on held-out problems at every level, improve it with GRPO on the level it finds
// hardest-but-learnable, evaluate again, and write a run directory with both models,
// metrics.jsonl, curves and report.md (accuracy before and after GRPO at every level).
#include "tandem/comm/communicator.h"
#include "tandem/core/reporter.h"
#include "tandem/recipes/grpo.h"
#include "tandem/recipes/sft.h"

namespace tandem {

struct DemoConfig {
  SftConfig sft;
  // The GRPO phase: its model, run directory, task, seed and backend come from the demo; its
  // other settings are tandem grpo's defaults (docs/grpo.md) but for its length: 40 steps, which
  // hold most of 60 steps' gain on level 3 and keep the whole job within 10 minutes on two cores
  // (docs/performance.md, "The main job").
  GrpoRunConfig grpo = [] {
    GrpoRunConfig g;
    g.steps = 40;
    return g;
  }();
  int final_problems = 1000;  // held-out problems per level, before and after GRPO
  int traces = 2;             // reasoning traces per level in the report
};

// Settings problems throw ConfigError naming the DemoConfig field (GRPO's as grpo_<field>).
// Under several ranks every phase is data parallel (training, evaluations, GRPO) and rank 0
// alone writes the run directory.
void run_demo(DemoConfig cfg, Reporter& reporter, Communicator& comm = single_process());

}  // namespace tandem
