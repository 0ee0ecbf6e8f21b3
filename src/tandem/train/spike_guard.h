#pragma once
// Loss-spike rule, on the logarithm of the loss: a step's loss is a spike when at least
// `min_count` accepted losses are in the running window (the last `window` of them) and
//     (log(loss) - mean) / max(std, floor) > z        (mean, std: of the window's log-losses)
// Only upward jumps count. Per-batch losses are right-skewed once training is well under way (a
// few hard problems dominate a small loss), which the log makes symmetric: over a whole default
// demo run the largest z is 3.2 on logs but 4.8 on raw losses. The floor (0.01, a 1% change)
// keeps a nearly flat curve from turning every wiggle into a spike. Spikes are not added to the
// window. Defaults (window 50, min_count 20, z 6) never fired on the demo's healthy curves;
// z <= 0 turns the rule off. The window is part of a checkpoint's state, so a resumed or
// rolled-back run judges later steps exactly as before.
#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>

namespace tandem {

struct SpikeRule {
  int window = 50;
  int min_count = 20;
  double z = 6.0;
  double floor = 0.01;  // least standard deviation of log(loss)
};

class SpikeGuard {
 public:
  explicit SpikeGuard(SpikeRule rule = {}) : rule_(rule) {}

  // How many (floored) standard deviations log(loss) lies above the window's mean log-loss; 0
  // until the window holds min_count losses.
  double z_score(double loss) const;
  bool is_spike(double loss) const { return rule_.z > 0 && z_score(loss) > rule_.z; }
  void accept(double loss);  // a good step's loss joins the window (non-finite ones never do)

  const SpikeRule& rule() const { return rule_; }
  size_t count() const { return losses_.size(); }
  double typical() const;  // the window's geometric mean loss (exp of the mean log-loss)

  nlohmann::json to_json() const;         // the window's losses, oldest first
  void from_json(const nlohmann::json&);  // throws on a malformed window
  void reset() { losses_.clear(); }

 private:
  double mean_log() const;
  SpikeRule rule_;
  std::deque<double> losses_;
};

}  // namespace tandem
