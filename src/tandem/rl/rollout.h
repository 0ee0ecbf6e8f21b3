#pragma once
// Rollouts: the model answers task problems through the generation engine and the task's verifier
// scores each answer. Evaluation is a rollout at temperature 0 and GRPO's sampling step one at
// temperature > 0, so both read exactly the same completions the same way.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tandem/data/tasks/task.h"
#include "tandem/engine/generate.h"
#include "tandem/model/weights.h"
#include "tandem/tokenizer/tokenizer.h"

namespace tandem {

struct Rollout {
  tasks::Problem problem;
  std::vector<int32_t> prompt;  // chat prompt tokens
  Completion completion;  // tokens (stop token included), log-probabilities, text (stop excluded)
  tasks::Score score;
};

struct RolloutConfig {
  GenerationConfig generation;  // stop token and max length filled in by rollout() when unset
  int slots = 64;               // sequences decoded together
  int max_len = 0;              // KV-cache length per slot; 0: max_position_embeddings
};

std::vector<Rollout> rollout(const ModelWeights& model, const Tokenizer& tok, const tasks::Task& task,
                             const std::vector<tasks::Problem>& problems, RolloutConfig cfg,
                             uint64_t first_sequence = 0,
                             const std::function<void(size_t)>& on_done = {});

struct LevelAccuracy {
  int level = 0;
  int problems = 0;
  double accuracy = 0;     // exact-match: the verifier's `correct`
  double format_rate = 0;  // well-formed completions
  double mean_tokens = 0;  // completion length
};

// Greedy decoding on `count` held-out problems of one level (problem index i = 0..count-1 under
// `seed`, so every evaluation of a run sees the same problems). Keeps the rollouts when `keep`.
LevelAccuracy evaluate_level(const ModelWeights& model, const Tokenizer& tok, const tasks::Task& task,
                             int level, int count, uint64_t seed, int slots = 64,
                             std::vector<Rollout>* keep = nullptr);

// The sums evaluate_level divides, over the held-out problems [begin, end): ranks each take a
// range, add their tallies and divide once (accuracy_of), getting what one process gets.
struct LevelTally {
  double correct = 0, formed = 0, tokens = 0;
};
LevelTally tally_level(const ModelWeights& model, const Tokenizer& tok, const tasks::Task& task,
                       int level, int begin, int end, uint64_t seed, int slots = 64,
                       std::vector<Rollout>* keep = nullptr);
LevelAccuracy accuracy_of(int level, int count, const LevelTally& t);

}  // namespace tandem
