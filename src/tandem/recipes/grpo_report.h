#pragma once
// What a person looks at after a GRPO run: curves drawn from the run's metrics.jsonl and report.md
// with held-out accuracy per level before and after (the first and the last evaluation).
#include <string>

namespace tandem {

// Writes into `dir` (which holds metrics.jsonl): grpo_reward.svg (reward mean and std, rollout
// accuracy, format rate), grpo_heldout.svg (held-out accuracy per level), grpo_policy.svg (entropy
// and KL to the reference, log axis), grpo_clip.svg (clip fraction), grpo_length.svg (mean
// response length) and grpo_throughput.svg (rollout and update tokens/s). Returns the markdown
// that embeds them, each link prefixed by `link_prefix` (the charts' folder as seen from where the
// markdown lives).
std::string write_grpo_charts(const std::string& dir, const std::string& link_prefix = "");

// Held-out accuracy per level: first evaluation vs last, as a markdown table ("" without evals).
std::string grpo_before_after_table(const std::string& dir);

// report.md for `tandem grpo`: facts, the before/after table and the curves.
void write_grpo_report(const std::string& dir, const std::string& command, double seconds);

}  // namespace tandem
