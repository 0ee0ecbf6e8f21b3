#pragma once
// Every kind of record in metrics.jsonl, defined once: the recipes write these and the report
// writers read them back, so a field has one name and one meaning. One JSON object per line,
// "kind" first in meaning (keys are written sorted); NaN and infinity, which JSON lacks, are null.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tandem::records {

// One supervised optimizer step.
struct Train {
  int64_t step = 0;
  int64_t batch = 0;         // data position of the step's batch
  double loss = 0;           // mean NLL per target token
  double lr = 0;
  double grad_norm = 0;      // before clipping
  int64_t tokens = 0;        // trained on so far, over the whole run
  double tokens_per_s = 0;   // this process
  double elapsed_s = 0;
  bool skipped = false;
  int ranks = 1;             // processes training together (mpirun -np)
  int64_t comm_bytes = 0;    // sent by this rank in this step's collectives
  double comm_wait_ms = 0;   // spent by this rank in them
};

// Held-out accuracy of one level, greedy decoding.
struct Eval {
  std::string phase = "sft";  // the model evaluated: "sft" (supervised) or "grpo"
  int64_t step = 0;
  int level = 0;
  int problems = 0;
  double accuracy = 0;
  double format_rate = 0;
  double mean_tokens = 0;  // completion length
  bool final = false;      // a before/after evaluation of the demo, on its full problem count
};

// Loss on the held-out records of a user's dataset (recipes/sft.h, --data), teacher-forced.
struct Validation {
  int64_t step = 0;
  double loss = 0;        // mean NLL per target token
  double perplexity = 0;  // exp(loss)
  int64_t tokens = 0;     // target tokens scored
  int64_t records = 0;
};

// One GRPO step: the rollouts and the policy update made from them.
struct Grpo {
  int64_t step = 0;
  double reward_mean = 0, reward_std = 0;
  double accuracy = 0, format_rate = 0, mean_length = 0;
  double loss = 0, entropy = 0, kl = 0, clip_fraction = 0, ratio = 0, grad_norm = 0;
  int skipped = 0;      // updates not applied (non-finite)
  int groups_used = 0;  // groups whose rewards differed
  double rollout_tokens_per_s = 0, update_tokens_per_s = 0;
  double lr = 0;
  // The sampler's log-probabilities against the trainer's over the step's tokens
  // (rl/rollout_correction.h): probability gaps, KL(rollout || train) estimates, perplexities,
  // the fraction of token ratios outside [0.5, 2] and [0.8, 1.25].
  double mismatch_mean_abs = 0, mismatch_max_abs = 0, mismatch_k1 = 0, mismatch_k3 = 0;
  double ppl_rollout = 0, ppl_train = 0, ratio_outside_2 = 0, ratio_outside_1_25 = 0;
  // The correction: weights over kept tokens, effective sample size, what was masked.
  double correction_weight_mean = 0, correction_weight_max = 0, correction_ess = 0;
  double correction_masked = 0;
  // Rollouts from servers: weight bytes sent and the time, requests sent again, answers from
  // other weights, servers that answered.
  int64_t sync_bytes = 0;
  double sync_ms = 0, step_ms = 0;
  int retries = 0, stale = 0, servers = 0;
  int ranks = 1;           // processes training together (mpirun -np)
  int64_t comm_bytes = 0;  // sent by this rank in this step's collectives
  int verifier_failures = 0;  // completions whose outside verifier failed (reward 0)
};

struct Checkpoint {
  int64_t step = 0;
  std::string dir;
  double seconds = 0;  // to write it
};

// Something that happened once (resume, nonfinite, spike_rollback, abort, stop,
// checkpoint_failed); `details` are the event's own fields, written beside these.
struct Event {
  std::string event;
  int64_t step = 0;
  nlohmann::json details = nlohmann::json::object();
};

nlohmann::json to_json(const Train& r);
nlohmann::json to_json(const Eval& r);
nlohmann::json to_json(const Validation& r);
nlohmann::json to_json(const Grpo& r);
nlohmann::json to_json(const Checkpoint& r);
nlohmann::json to_json(const Event& r);

// The records of one kind in `all` (as read_metrics returns them), in file order.
std::vector<Train> train_records(const std::vector<nlohmann::json>& all);
std::vector<Eval> eval_records(const std::vector<nlohmann::json>& all);
std::vector<Validation> validation_records(const std::vector<nlohmann::json>& all);
std::vector<Grpo> grpo_records(const std::vector<nlohmann::json>& all);

// A double for JSON, where NaN and infinity do not exist: those become null.
nlohmann::json finite_or_null(double v);

}  // namespace tandem::records
