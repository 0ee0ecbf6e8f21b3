#pragma once
// What a person looks at after a GRPO run: curves drawn from the run's metrics.jsonl and report.md
// with held-out accuracy per level before and after (the first and the last evaluation).
#include <string>
#include <vector>

namespace tandem {

// Writes into `dir` (which holds metrics.jsonl): grpo_reward.svg (reward mean and std, rollout
// accuracy, format rate), grpo_heldout.svg (held-out accuracy per level), grpo_policy.svg (entropy
// and KL to the reference, log axis), grpo_clip.svg (clip fraction), grpo_length.svg (mean
// response length) and grpo_throughput.svg (rollout and update tokens/s). Returns the markdown
// that embeds them, each link prefixed by `link_prefix` (the charts' folder as seen from where the
// markdown lives). `bounds` adds held-out points the run did not log itself: the demo's
// evaluations of the supervised model (step 0) and of the final one, so its chart shows the gain.
struct HeldoutPoint {
  int level = 0;
  double step = 0, accuracy = 0;
};
std::string write_grpo_charts(const std::string& dir, const std::string& link_prefix = "",
                              const std::vector<HeldoutPoint>& bounds = {});

// Held-out accuracy per level: first evaluation vs last, as a markdown table ("" without evals).
std::string grpo_before_after_table(const std::string& dir);

// report.md for `tandem grpo`: facts, the before/after table and the curves.
void write_grpo_report(const std::string& dir, const std::string& command, double seconds);

}  // namespace tandem
