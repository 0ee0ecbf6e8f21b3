#pragma once
// `tandem label`: rejection sampling, as DeepSeek-R1 built its supervised set. A model answers
// each problem of a JSONL file K times (sampled, through the generation engine, many prompts at
// once; or by `tandem serve` processes, sent the model's weights first, recipes/remote_rollouts.h),
// a verifier judges every answer, and the verified ones are written as chat JSONL, ready
// for `tandem train --data`: all of them (distinct), or the shortest per problem. Reports the
// acceptance rate overall and per problem, tokens/s, and the problems no sample solved.
#include <cstdint>
#include <string>
#include <vector>

#include "tandem/core/reporter.h"
#include "tandem/data/tasks/problem_file.h"

namespace tandem {

struct LabelJob {
  std::string model_dir;
  std::string data;                 // {"prompt", "answer", "level"} records
  tasks::VerifierSpec verifier;
  std::string output;               // chat JSONL; a summary goes beside it (OUTPUT.stats.json)
  std::string backend = "cpu";
  int samples = 8;                  // K per problem
  float temperature = 1.0f;
  int max_new_tokens = 200;
  std::string keep = "shortest";    // "shortest" per problem, or "all" distinct verified answers
  uint64_t seed = 1;
  int prompts_per_batch = 64;       // problems decoded together (x K sequences)
  int64_t limit = 0;                // problems labelled (0: all)
  // Sampling by `tandem serve --admin-key K` processes instead of in-process: they are sent the
  // model's weights (so they label with exactly this model) and share the problems.
  std::vector<std::string> servers;
  std::string admin_key;
  int requests_per_server = 8;
};

struct LabelResult {
  int64_t problems = 0, solved = 0, samples = 0, accepted = 0, written = 0;
  int64_t tokens = 0;
  double seconds = 0;
};

LabelResult run_label(const LabelJob& job, Reporter& reporter);

}  // namespace tandem
