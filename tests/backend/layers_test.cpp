// Conformance of the per-row layer kernels: embedding, RMSNorm, RoPE, SwiGLU, cross-entropy.
#include <cmath>
#include <tuple>
#include <utility>

#include "backend_test_util.h"

namespace tandem::test {
namespace {

// Copies and a few fp32 roundings per element.
constexpr Tol kElementwise{1e-12, 1e-5};
// Row reductions over C (<= 1031) feed every element of the row: a few ulps of NMSE more.
constexpr Tol kRowNorm{1e-11, 2e-5};
// Accumulated parameter gradients (dw) sum n rows: error grows like sqrt(n) * eps.
constexpr Tol kRowSum{1e-11, 5e-5};
// Cross-entropy: log-sum-exp over V <= 1031 of logits up to ~60 apart. fp32 exp of (x - max) is
// within ~2 ulp, the sums are long: NMSE ~ (few eps)^2, and loss values reach ~60 so the
// elementwise bound is relative to the output scale.
constexpr Tol kCrossEntropy{1e-11, 2e-5};

class LayersTest : public BackendTest {};
TANDEM_BACKEND_SUITE(LayersTest);

// Each optional backward has its own test, which skips (saying why) on a backend without it.
constexpr std::tuple<int, int, int> kEmbeddingShapes[] = {
    {1, 1, 1}, {3, 17, 5}, {33, 127, 7}, {130, 256, 1000}};

TEST_P(LayersTest, EmbeddingForward) {
  for (auto [n, C, V] : kEmbeddingShapes) {
    const std::vector<float> table = randn(size_t(V) * C);
    const std::vector<int32_t> ids = randint(n, 0, V);
    DeviceBuffer dt = upload(be(), table), di = upload(be(), ids),
                 out = poisoned(be(), size_t(n) * C);
    be().embedding_forward(out.as(), di.as<int32_t>(), dt.as(), n, C);
    expect_close(download(be(), out, size_t(n) * C), ref::embedding_forward(ids, to_d(table), n, C),
                 kElementwise, fmt::format("embedding_forward n={} C={}", n, C));
  }
}

TEST_P(LayersTest, EmbeddingBackward) {
  TANDEM_SKIP_UNLESS_SUPPORTED(Op::EmbeddingBackward);
  for (auto [n, C, V] : kEmbeddingShapes) {
    std::vector<int32_t> ids = randint(n, 0, V);
    if (n > 2) ids[n - 1] = ids[0];  // repeated ids must add up in the backward
    const std::vector<float> dout = randn(size_t(n) * C), dtable0 = randn(size_t(V) * C);
    DeviceBuffer di = upload(be(), ids), dd = upload(be(), dout), dtab = upload(be(), dtable0);
    be().embedding_backward(dtab.as(), dd.as(), di.as<int32_t>(), n, C);
    std::vector<double> ref = to_d(dtable0);
    ref::embedding_backward(ref, to_d(dout), ids, n, C);
    expect_close(download(be(), dtab, size_t(V) * C), ref, kRowSum,
                 fmt::format("embedding_backward n={} C={}", n, C));
  }
}

constexpr std::pair<int, int> kRmsNormShapes[] = {
    {1, 1}, {3, 17}, {33, 64}, {17, 1031}, {130, 256}};
constexpr float kRmsEps = 1e-6f;

// Rows of different scale, one tiny: rstd and its cube must stay accurate.
std::vector<float> rmsnorm_input(int n, int C) {
  std::vector<float> x = randn(size_t(n) * C, 2.0f, 0.5f);
  for (int c = 0; c < C; ++c) x[c] *= 1e-3f;
  return x;
}

TEST_P(LayersTest, RmsNormForward) {
  for (auto [n, C] : kRmsNormShapes) {
    const std::vector<float> x = rmsnorm_input(n, C), w = randn(C, 0.5f, 1.0f);
    DeviceBuffer dx = upload(be(), x), dw = upload(be(), w);
    DeviceBuffer out = poisoned(be(), size_t(n) * C), rstd = poisoned(be(), n);
    be().rmsnorm_forward(out.as(), rstd.as(), dx.as(), dw.as(), n, C, kRmsEps);
    std::vector<double> rout, rrstd;
    ref::rmsnorm_forward(rout, rrstd, to_d(x), to_d(w), n, C, kRmsEps);
    const std::string at = fmt::format("n={} C={}", n, C);
    expect_close(download(be(), out, size_t(n) * C), rout, kRowNorm, "rmsnorm out " + at);
    // rstd reaches ~1e3 on the tiny row: compare relatively.
    std::vector<float> got_rstd = download(be(), rstd, n);
    for (int i = 0; i < n; ++i) EXPECT_NEAR(got_rstd[i], rrstd[i], 1e-6 * rrstd[i]) << at;
  }
}

TEST_P(LayersTest, RmsNormBackward) {
  TANDEM_SKIP_UNLESS_SUPPORTED(Op::RmsNormBackward);
  for (auto [n, C] : kRmsNormShapes) {
    const std::vector<float> x = rmsnorm_input(n, C), w = randn(C, 0.5f, 1.0f);
    DeviceBuffer dx = upload(be(), x), dw = upload(be(), w);
    DeviceBuffer out = poisoned(be(), size_t(n) * C), rstd = poisoned(be(), n);
    // The backward reads the rstd the backend's own forward saved (checked by RmsNormForward).
    be().rmsnorm_forward(out.as(), rstd.as(), dx.as(), dw.as(), n, C, kRmsEps);

    const std::vector<float> dout = randn(size_t(n) * C), dw0 = randn(C);
    DeviceBuffer dd = upload(be(), dout), ddw = upload(be(), dw0),
                 ddx = poisoned(be(), size_t(n) * C);
    be().rmsnorm_backward(ddx.as(), ddw.as(), dd.as(), dx.as(), dw.as(), rstd.as(), n, C);
    std::vector<double> rdx, rdw = to_d(dw0);
    ref::rmsnorm_backward(rdx, rdw, to_d(dout), to_d(x), to_d(w), n, C, kRmsEps);
    const std::string at = fmt::format("n={} C={}", n, C);
    expect_close(download(be(), ddx, size_t(n) * C), rdx, kRowNorm, "rmsnorm dx " + at);
    expect_close(download(be(), ddw, C), rdw, kRowSum, "rmsnorm dw " + at);
  }
}

// cos_sin(max_pos, D/2, 2) as the model builds it, theta = 10000.
std::vector<float> rope_table(int max_pos, int D) {
  std::vector<float> t(size_t(max_pos) * D);
  for (int p = 0; p < max_pos; ++p)
    for (int j = 0; j < D / 2; ++j) {
      const double angle = p * std::pow(10000.0, -2.0 * j / D);
      t[(size_t(p) * D / 2 + j) * 2] = float(std::cos(angle));
      t[(size_t(p) * D / 2 + j) * 2 + 1] = float(std::sin(angle));
    }
  return t;
}

constexpr int kRopeMaxPos = 300;
constexpr std::tuple<int, int, int> kRopeShapes[] = {
    {1, 1, 2}, {3, 2, 16}, {17, 3, 32}, {33, 4, 64}, {130, 2, 128}};

// Both directions rotate x in place; `backward` picks the inverse rotation.
void check_rope(Backend& be, bool backward) {
  for (auto [n, H, D] : kRopeShapes) {
    const std::vector<float> table = rope_table(kRopeMaxPos, D), x = randn(size_t(n) * H * D);
    const std::vector<int32_t> pos = randint(n, 0, kRopeMaxPos);
    DeviceBuffer dt = upload(be, table), dp = upload(be, pos), dx = upload(be, x);
    if (backward)
      be.rope_backward(dx.as(), dp.as<int32_t>(), dt.as(), n, H, D);
    else
      be.rope_forward(dx.as(), dp.as<int32_t>(), dt.as(), n, H, D);
    expect_close(
        download(be, dx, x.size()), ref::rope(to_d(x), pos, to_d(table), n, H, D, backward),
        kElementwise,
        fmt::format("{} n={} H={} D={}", backward ? "rope_backward" : "rope_forward", n, H, D));
  }
}

TEST_P(LayersTest, RopeForward) {
  check_rope(be(), false);
  DeviceBuffer a(be(), 64), p(be(), 64);
  expect_op_error("rope_forward",
                  [&] { be().rope_forward(a.as(), p.as<int32_t>(), a.as(), 1, 1, 3); });
}

TEST_P(LayersTest, RopeBackward) {
  TANDEM_SKIP_UNLESS_SUPPORTED(Op::RopeBackward);
  check_rope(be(), true);
}

constexpr size_t kSwiGluSizes[] = {1, 17, 1000, 100003};

TEST_P(LayersTest, SwiGluForward) {
  for (size_t n : kSwiGluSizes) {
    // Gates spread wide enough to reach the saturated ends of the sigmoid.
    const std::vector<float> gate = randn(n, 6.0f), up = randn(n);
    DeviceBuffer dg = upload(be(), gate), du = upload(be(), up), out = poisoned(be(), n);
    be().swiglu_forward(out.as(), dg.as(), du.as(), n);
    const std::vector<double> rout = ref::swiglu_forward(to_d(gate), to_d(up));
    expect_close(download(be(), out, n), rout, kElementwise, fmt::format("swiglu_forward n={}", n));
    // out may alias up (backend.h): the model does this to save memory.
    be().swiglu_forward(du.as(), dg.as(), du.as(), n);
    expect_close(download(be(), du, n), rout, kElementwise, "swiglu_forward in place");
  }
}

TEST_P(LayersTest, SwiGluBackward) {
  TANDEM_SKIP_UNLESS_SUPPORTED(Op::SwigluBackward);
  for (size_t n : kSwiGluSizes) {
    const std::vector<float> gate = randn(n, 6.0f), up = randn(n), dout = randn(n);
    DeviceBuffer dg = upload(be(), gate), du = upload(be(), up), dd = upload(be(), dout);
    DeviceBuffer dgate = poisoned(be(), n), dup = poisoned(be(), n);
    be().swiglu_backward(dgate.as(), dup.as(), dd.as(), dg.as(), du.as(), n);
    std::vector<double> rdg, rdu;
    ref::swiglu_backward(rdg, rdu, to_d(dout), to_d(gate), to_d(up));
    expect_close(download(be(), dgate, n), rdg, kElementwise, fmt::format("swiglu dgate n={}", n));
    expect_close(download(be(), dup, n), rdu, kElementwise, fmt::format("swiglu dup n={}", n));
  }
}

constexpr std::pair<int, int> kCrossEntropyShapes[] = {
    {1, 5}, {3, 17}, {33, 127}, {17, 1000}, {5, 1031}};

struct CrossEntropyInput {
  std::vector<float> logits;
  std::vector<int32_t> targets;
};

CrossEntropyInput cross_entropy_input(int n, int V) {
  // Large, shifted logits: without max-subtraction exp overflows.
  CrossEntropyInput in{randn(size_t(n) * V, 8.0f, 40.0f), randint(n, 0, V)};
  if (n > 2) in.targets[1] = -1;  // ignored position
  // One row with a single dominant logit (p ~ 1): loss ~ 0 and entropy ~ 0 must stay accurate
  // in absolute terms. Only in batches with ordinary rows, whose scale makes NMSE meaningful.
  if (n > 1) in.logits[size_t(n - 1) * V + in.targets[n - 1]] += 100.0f;
  return in;
}

TEST_P(LayersTest, CrossEntropyForward) {
  for (auto [n, V] : kCrossEntropyShapes) {
    const auto [logits, targets] = cross_entropy_input(n, V);
    DeviceBuffer dl = upload(be(), logits), dt = upload(be(), targets);
    DeviceBuffer loss = poisoned(be(), n), ent = poisoned(be(), n);
    be().cross_entropy_forward(loss.as(), ent.as(), dl.as(), dt.as<int32_t>(), n, V);
    std::vector<double> rloss, rent;
    ref::cross_entropy_forward(rloss, rent, to_d(logits), targets, n, V);
    const std::string at = fmt::format("n={} V={}", n, V);
    expect_close(download(be(), loss, n), rloss, kCrossEntropy, "cross_entropy loss " + at);
    expect_close(download(be(), ent, n), rent, kCrossEntropy, "cross_entropy entropy " + at);
  }
  // A target outside the vocabulary is an error where the backend can check it on the host (cpu),
  // else a NaN loss (a kernel cannot throw), which the trainer's guard stops at: never a number.
  DeviceBuffer a = upload(be(), randn(5)), out = poisoned(be(), 2),
               t = upload(be(), std::vector<int32_t>{5});
  try {
    be().cross_entropy_forward(out.as(), out.as<float>() + 1, a.as(), t.as<int32_t>(), 1, 5);
    EXPECT_NE(be().name(), "cpu") << "the cpu backend checks targets";
    EXPECT_TRUE(std::isnan(download(be(), out, 2)[0])) << "an out-of-range target gave a number";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("[cross_entropy_forward]", 0), 0u) << e.what();
  }
}

TEST_P(LayersTest, CrossEntropyBackward) {
  TANDEM_SKIP_UNLESS_SUPPORTED(Op::CrossEntropyBackward);
  for (auto [n, V] : kCrossEntropyShapes) {
    const auto [logits, targets] = cross_entropy_input(n, V);
    const std::vector<float> dloss = randn(n);
    DeviceBuffer dl = upload(be(), logits), dt = upload(be(), targets), dd = upload(be(), dloss);
    const std::string at = fmt::format("n={} V={}", n, V);
    const std::vector<double> rd =
        ref::cross_entropy_backward(to_d(logits), targets, to_d(dloss), n, V);
    DeviceBuffer dlog = poisoned(be(), size_t(n) * V);
    be().cross_entropy_backward(dlog.as(), dl.as(), dt.as<int32_t>(), dd.as(), n, V);
    expect_close(download(be(), dlog, size_t(n) * V), rd, kCrossEntropy,
                 "cross_entropy dlogits " + at);
    // In place: dlogits aliases logits.
    be().cross_entropy_backward(dl.as(), dl.as(), dt.as<int32_t>(), dd.as(), n, V);
    expect_close(download(be(), dl, size_t(n) * V), rd, kCrossEntropy,
                 "cross_entropy dlogits in place " + at);
  }
}

}  // namespace
}  // namespace tandem::test
