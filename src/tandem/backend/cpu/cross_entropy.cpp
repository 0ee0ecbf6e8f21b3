// Softmax cross-entropy over the vocabulary, with per-token entropy; and its backward.
#include <cmath>

#include "tandem/backend/cpu/cpu_backend.h"
#include "tandem/backend/cpu/vec.h"
#include "tandem/core/error.h"

namespace tandem {

namespace {

void check_targets(const char* op, const int32_t* targets, int n, int V) {
  TANDEM_CHECK(n >= 0 && V > 0, "[{}] bad sizes n={} V={}", op, n, V);
  for (int i = 0; i < n; ++i)
    TANDEM_CHECK(targets[i] < V, "[{}] targets[{}] = {} is out of range for V = {}", op, i,
                 targets[i], V);
}

struct RowStats {
  float max;        // m = max_j x_j
  double sum;       // Z = sum_j e^(x_j - m)
  double weighted;  // sum_j e^(x_j - m) * (x_j - m), for the entropy
};

// One pass over a row after its max: e^(x - m) in float (1 ulp), sums in double lanes so that
// V = 152k terms do not lose the small ones.
RowStats row_stats(const float* x, int V, bool want_weighted) {
  RowStats st{cpu::max_f(x, V), 0.0, 0.0};
  double s[cpu::kLanes] = {}, w[cpu::kLanes] = {};
  const float m = st.max;
  int j = 0;
  for (; j + cpu::kLanes <= V; j += cpu::kLanes) {
    for (int l = 0; l < cpu::kLanes; ++l) {
      const float d = x[j + l] - m;
      const float e = cpu::exp_f(d);
      s[l] += e;
      // e == 0 where x_j = -inf (a masked logit): its term is 0, not 0 * -inf.
      if (want_weighted) w[l] += e > 0.0f ? double(e) * d : 0.0;
    }
  }
  for (int l = 0; j + l < V; ++l) {
    const float d = x[j + l] - m;
    const float e = cpu::exp_f(d);
    s[l] += e;
    w[l] += e > 0.0f ? double(e) * d : 0.0;
  }
  st.sum = cpu::reduce_lanes(s);
  st.weighted = cpu::reduce_lanes(w);
  return st;
}

}  // namespace

// logits(n,V), targets(n) -> loss(n), entropy(n).
// loss = log Z + m - x_t; entropy = log Z - (1/Z) sum e_j (x_j - m).
void CpuBackend::cross_entropy_forward(float* loss, float* entropy, const float* logits,
                                       const int32_t* targets, int n, int V) {
  check_targets("cross_entropy_forward", targets, n, V);
#pragma omp parallel for schedule(static) if (int64_t(n) * V >= (1 << 15))
  for (int i = 0; i < n; ++i) {
    const float* x = logits + int64_t(i) * V;
    const RowStats st = row_stats(x, V, true);
    const double log_z = std::log(st.sum);
    entropy[i] = float(log_z - st.weighted / st.sum);
    const int t = targets[i];
    loss[i] = t < 0 ? 0.0f : float(log_z - (double(x[t]) - double(st.max)));
  }
}

// logits(n,V), targets(n), dloss(n) -> dlogits(n,V), which may alias logits: each row is read
// completely (max, sum) before any of it is written.
void CpuBackend::cross_entropy_backward(float* dlogits, const float* logits, const int32_t* targets,
                                        const float* dloss, int n, int V) {
  check_targets("cross_entropy_backward", targets, n, V);
#pragma omp parallel for schedule(static) if (int64_t(n) * V >= (1 << 15))
  for (int i = 0; i < n; ++i) {
    const float* x = logits + int64_t(i) * V;
    float* dx = dlogits + int64_t(i) * V;
    const int t = targets[i];
    if (t < 0) {
      for (int j = 0; j < V; ++j) dx[j] = 0.0f;
      continue;
    }
    const RowStats st = row_stats(x, V, false);
    const float m = st.max;
    const float k = float(double(dloss[i]) / st.sum);
    const float xt = x[t];
    for (int j = 0; j < V; ++j) dx[j] = cpu::exp_f(x[j] - m) * k;
    dx[t] = float(double(dloss[i]) * (double(cpu::exp_f(xt - m)) / st.sum - 1.0));
  }
}

}  // namespace tandem
