#include "tandem/rl/advantages.h"

#include <cmath>

#include "tandem/core/error.h"

namespace tandem {
namespace {

struct MeanStd {
  double mean = 0, std = 0;  // population std
};

// Two passes (mean, then squared deviations), in double.
MeanStd mean_std(std::span<const double> x) {
  MeanStd m;
  if (x.empty()) return m;
  for (double v : x) m.mean += v;
  m.mean /= double(x.size());
  double ss = 0;
  for (double v : x) ss += (v - m.mean) * (v - m.mean);
  m.std = std::sqrt(ss / double(x.size()));
  return m;
}

void check_groups(std::span<const double> rewards, int group_size) {
  TANDEM_CHECK(group_size >= 1, "[grpo_advantages] group_size must be >= 1, got {}", group_size);
  TANDEM_CHECK(rewards.size() % size_t(group_size) == 0,
               "[grpo_advantages] {} rewards do not split into groups of {}", rewards.size(),
               group_size);
}

}  // namespace

std::vector<double> group_advantages(std::span<const double> rewards, int group_size,
                                     AdvantageScaling scaling, double eps) {
  check_groups(rewards, group_size);
  TANDEM_CHECK(eps >= 0 && std::isfinite(eps), "[grpo_advantages] eps must be >= 0, got {}", eps);
  for (size_t i = 0; i < rewards.size(); ++i)
    TANDEM_CHECK(std::isfinite(rewards[i]), "[grpo_advantages] reward {} is not finite ({})", i,
                 rewards[i]);
  const double batch_std = mean_std(rewards).std;
  std::vector<double> adv(rewards.size(), 0.0);
  for (size_t g = 0; g < rewards.size(); g += size_t(group_size)) {
    const auto group = rewards.subspan(g, size_t(group_size));
    if (group_is_uniform(group)) continue;  // exactly 0: a rounded mean could leave 1e-17 / eps
    const MeanStd m = mean_std(group);
    double scale = 1;
    if (scaling == AdvantageScaling::GroupStd) scale = m.std + eps;
    if (scaling == AdvantageScaling::BatchStd) scale = batch_std + eps;
    // A zero scale (eps = 0, batch without spread) cannot reach here: that batch is uniform.
    for (size_t i = 0; i < group.size(); ++i) {
      const double centred = group[i] - m.mean;
      adv[g + i] = centred / scale;
    }
  }
  return adv;
}

bool group_is_uniform(std::span<const double> group_rewards) {
  for (double r : group_rewards)
    if (r != group_rewards.front()) return false;
  return true;
}

std::vector<int> informative_groups(std::span<const double> rewards, int group_size) {
  check_groups(rewards, group_size);
  std::vector<int> keep;
  for (size_t g = 0; g * size_t(group_size) < rewards.size(); ++g)
    if (!group_is_uniform(rewards.subspan(g * size_t(group_size), size_t(group_size))))
      keep.push_back(int(g));
  return keep;
}

}  // namespace tandem
