// DiLoCo's outer step against the formula of torch.optim.SGD(nesterov=True), computed here in
// double: the mean change anchor - params is the gradient, v = mu v + g, anchor -= lr (g + mu v).
#include "tandem/train/diloco.h"

#include <gtest/gtest.h>

#include <cmath>

#include "support/test_models.h"
#include "tandem/core/rng.h"

namespace tandem {
namespace {

std::vector<float> shifted(const std::vector<float>& p, uint64_t seed) {
  std::vector<float> out(p.size());
  const Rng rng(seed, 9);
  for (size_t i = 0; i < p.size(); ++i) out[i] = p[i] + 0.01f * rng.normal(i);
  return out;
}

TEST(Diloco, OuterStepIsNesterovSgdOnTheChange) {
  auto be = make_backend("cpu");
  Transformer model(*be, test::tiny_config());
  model.init_random(3);
  const DilocoConfig cfg{5, 0.7f, 0.9f};
  OuterStep outer(model, cfg);
  const std::vector<float> start = model.read_params();
  std::vector<double> anchor(start.begin(), start.end());
  std::vector<double> v(anchor.size(), 0.0);
  for (uint64_t round = 1; round <= 3; ++round) {
    // As if the inner steps had moved the parameters somewhere.
    std::vector<float> a(anchor.begin(), anchor.end());
    const std::vector<float> inner = shifted(a, round);
    model.load_params(inner);
    outer.sync(model, single_process());
    const std::vector<float> got = model.read_params();
    for (size_t i = 0; i < anchor.size(); ++i) {
      const double g = anchor[i] - double(inner[i]);
      v[i] = cfg.momentum * v[i] + g;
      anchor[i] -= cfg.lr * (g + cfg.momentum * v[i]);
      ASSERT_NEAR(got[i], anchor[i], 1e-6 * (1 + std::fabs(anchor[i]))) << "round " << round << " i " << i;
    }
  }
}

TEST(Diloco, UnitOuterStepWithoutMomentumKeepsTheInnerParameters) {
  auto be = make_backend("cpu");
  Transformer model(*be, test::tiny_config());
  model.init_random(4);
  OuterStep outer(model, DilocoConfig{1, 1.0f, 0.0f});
  const std::vector<float> inner = shifted(model.read_params(), 1);
  model.load_params(inner);
  outer.sync(model, single_process());
  const std::vector<float> got = model.read_params();
  for (size_t i = 0; i < inner.size(); ++i) ASSERT_NEAR(got[i], inner[i], 1e-7f);
}

}  // namespace
}  // namespace tandem
