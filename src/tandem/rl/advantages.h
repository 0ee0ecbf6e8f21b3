#pragma once
// Group-relative advantages (GRPO): each prompt is answered G times and a completion's advantage
// is its reward measured against its own group, so no value network is needed. Rewards arrive in
// groups of `group_size` consecutive entries (completions of one prompt side by side).
// Formulas and the reasons for each choice: docs/grpo.md.
#include <span>
#include <vector>

namespace tandem {

enum class AdvantageScaling {
  GroupStd,  // (r - mean_group) / (std_group + eps): DeepSeekMath's GRPO
  BatchStd,  // (r - mean_group) / (std of all rewards in the batch + eps): robust to tiny groups
  None,      // r - mean_group: Dr. GRPO (no per-question difficulty reweighting)
};

// Every std here is the population std (divide by the count, not count - 1): the group is the
// whole sample being standardised, so a standardised group has exactly unit variance whatever G.
// Throws tandem::Error ("[grpo_advantages] ...") when group_size < 1, the rewards do not split into
// whole groups, a reward is not finite, or eps < 0.
std::vector<double> group_advantages(std::span<const double> rewards, int group_size,
                                     AdvantageScaling scaling, double eps = 1e-6);

// True when every reward of one group is equal: such a group has zero advantage everywhere and
// teaches nothing, so dynamic sampling (DAPO) drops it and samples more. Exact comparison: rewards
// are sums of a few fixed weights.
bool group_is_uniform(std::span<const double> group_rewards);

// The indices of the groups that are not uniform, for a batch laid out as group_advantages takes
// it.
std::vector<int> informative_groups(std::span<const double> rewards, int group_size);

}  // namespace tandem
