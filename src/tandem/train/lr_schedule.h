#pragma once
// Linear warmup to the peak, then cosine decay to min_lr at total_steps (held there after).
#include <cmath>
#include <cstdint>

namespace tandem {

struct LrSchedule {
  float peak = 1e-3f;
  float min_lr = 1e-4f;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;

  // Learning rate for 0-based step index `step`.
  float at(int64_t step) const {
    if (step < warmup_steps) return peak * float(step + 1) / float(warmup_steps);
    const int64_t span = total_steps - warmup_steps;
    if (span <= 0 || step >= total_steps) return min_lr;
    const double progress = double(step - warmup_steps) / double(span);
    return min_lr + float(0.5 * (1.0 + std::cos(M_PI * progress))) * (peak - min_lr);
  }
};

}  // namespace tandem
