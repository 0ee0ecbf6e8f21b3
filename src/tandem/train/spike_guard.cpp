#include "tandem/train/spike_guard.h"

#include <algorithm>
#include <cmath>

#include "tandem/core/error.h"

namespace tandem {

namespace {
// The NLL is >= 0; a loss of exactly 0 is clamped rather than sent to -infinity.
double log_loss(double loss) {
  return std::log(std::max(loss, 1e-30));
}
}  // namespace

double SpikeGuard::mean_log() const {
  double sum = 0;
  for (double l : losses_) sum += log_loss(l);
  return losses_.empty() ? 0 : sum / double(losses_.size());
}

double SpikeGuard::typical() const {
  return std::exp(mean_log());
}

double SpikeGuard::z_score(double loss) const {
  if (losses_.size() < size_t(std::max(rule_.min_count, 2))) return 0;
  const double mu = mean_log();
  double var = 0;
  for (double l : losses_) var += (log_loss(l) - mu) * (log_loss(l) - mu);
  const double sd = std::sqrt(var / double(losses_.size() - 1));
  return (log_loss(loss) - mu) / std::max({sd, rule_.floor, 1e-12});
}

void SpikeGuard::accept(double loss) {
  if (!std::isfinite(loss)) return;
  losses_.push_back(loss);
  while (losses_.size() > size_t(std::max(rule_.window, 1))) losses_.pop_front();
}

nlohmann::json SpikeGuard::to_json() const {
  return nlohmann::json(losses_);
}

void SpikeGuard::from_json(const nlohmann::json& j) {
  TANDEM_CHECK(j.is_array(), "spike guard window: expected an array of losses, got {}",
               j.type_name());
  losses_.clear();
  for (const auto& v : j) {
    TANDEM_CHECK(v.is_number(), "spike guard window: expected numbers, got {}", v.type_name());
    accept(v.get<double>());
  }
}

}  // namespace tandem
