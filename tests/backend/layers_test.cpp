// Conformance of the per-row layer kernels: embedding, RMSNorm, RoPE, SwiGLU, cross-entropy.
#include <cmath>

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

TEST_P(LayersTest, Embedding) {
  for (auto [n, C, V] : {std::tuple{1, 1, 1}, {3, 17, 5}, {33, 127, 7}, {130, 256, 1000}}) {
    const std::vector<float> table = randn(size_t(V) * C);
    std::vector<int32_t> ids = randint(n, 0, V);
    if (n > 2) ids[n - 1] = ids[0];  // repeated ids must add up in the backward
    DeviceBuffer dt = upload(be(), table), di = upload(be(), ids),
                 out = poisoned(be(), size_t(n) * C);
    be().embedding_forward(out.as(), di.as<int32_t>(), dt.as(), n, C);
    expect_close(download(be(), out, size_t(n) * C), ref::embedding_forward(ids, to_d(table), n, C),
                 kElementwise, fmt::format("embedding_forward n={} C={}", n, C));

    const std::vector<float> dout = randn(size_t(n) * C), dtable0 = randn(size_t(V) * C);
    DeviceBuffer dd = upload(be(), dout), dtab = upload(be(), dtable0);
    be().embedding_backward(dtab.as(), dd.as(), di.as<int32_t>(), n, C);
    std::vector<double> ref = to_d(dtable0);
    ref::embedding_backward(ref, to_d(dout), ids, n, C);
    expect_close(download(be(), dtab, size_t(V) * C), ref, kRowSum,
                 fmt::format("embedding_backward n={} C={}", n, C));
  }
}

TEST_P(LayersTest, RmsNorm) {
  const float eps = 1e-6f;
  for (auto [n, C] : {std::pair{1, 1}, {3, 17}, {33, 64}, {17, 1031}, {130, 256}}) {
    // Rows of different scale, one tiny: rstd and its cube must stay accurate.
    std::vector<float> x = randn(size_t(n) * C, 2.0f, 0.5f);
    for (int c = 0; c < C; ++c) x[c] *= 1e-3f;
    const std::vector<float> w = randn(C, 0.5f, 1.0f);
    DeviceBuffer dx = upload(be(), x), dw = upload(be(), w);
    DeviceBuffer out = poisoned(be(), size_t(n) * C), rstd = poisoned(be(), n);
    be().rmsnorm_forward(out.as(), rstd.as(), dx.as(), dw.as(), n, C, eps);
    std::vector<double> rout, rrstd;
    ref::rmsnorm_forward(rout, rrstd, to_d(x), to_d(w), n, C, eps);
    const std::string at = fmt::format("n={} C={}", n, C);
    expect_close(download(be(), out, size_t(n) * C), rout, kRowNorm, "rmsnorm out " + at);
    // rstd reaches ~1e3 on the tiny row: compare relatively.
    std::vector<float> got_rstd = download(be(), rstd, n);
    for (int i = 0; i < n; ++i) EXPECT_NEAR(got_rstd[i], rrstd[i], 1e-6 * rrstd[i]) << at;

    const std::vector<float> dout = randn(size_t(n) * C), dw0 = randn(C);
    DeviceBuffer dd = upload(be(), dout), ddw = upload(be(), dw0),
                 ddx = poisoned(be(), size_t(n) * C);
    be().rmsnorm_backward(ddx.as(), ddw.as(), dd.as(), dx.as(), dw.as(), rstd.as(), n, C);
    std::vector<double> rdx, rdw = to_d(dw0);
    ref::rmsnorm_backward(rdx, rdw, to_d(dout), to_d(x), to_d(w), n, C, eps);
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

TEST_P(LayersTest, Rope) {
  const int max_pos = 300;
  for (auto [n, H, D] :
       {std::tuple{1, 1, 2}, {3, 2, 16}, {17, 3, 32}, {33, 4, 64}, {130, 2, 128}}) {
    const std::vector<float> table = rope_table(max_pos, D), x = randn(size_t(n) * H * D);
    const std::vector<int32_t> pos = randint(n, 0, max_pos);
    DeviceBuffer dt = upload(be(), table), dp = upload(be(), pos), dx = upload(be(), x);
    const std::string at = fmt::format("n={} H={} D={}", n, H, D);
    be().rope_forward(dx.as(), dp.as<int32_t>(), dt.as(), n, H, D);
    expect_close(download(be(), dx, x.size()), ref::rope(to_d(x), pos, to_d(table), n, H, D, false),
                 kElementwise, "rope_forward " + at);
    DeviceBuffer dg = upload(be(), x);
    be().rope_backward(dg.as(), dp.as<int32_t>(), dt.as(), n, H, D);
    expect_close(download(be(), dg, x.size()), ref::rope(to_d(x), pos, to_d(table), n, H, D, true),
                 kElementwise, "rope_backward " + at);
  }
  DeviceBuffer a(be(), 64), p(be(), 64);
  expect_op_error("rope_forward",
                  [&] { be().rope_forward(a.as(), p.as<int32_t>(), a.as(), 1, 1, 3); });
}

TEST_P(LayersTest, SwiGlu) {
  for (size_t n : {size_t(1), size_t(17), size_t(1000), size_t(100003)}) {
    // Gates spread wide enough to reach the saturated ends of the sigmoid.
    const std::vector<float> gate = randn(n, 6.0f), up = randn(n), dout = randn(n);
    DeviceBuffer dg = upload(be(), gate), du = upload(be(), up), out = poisoned(be(), n);
    be().swiglu_forward(out.as(), dg.as(), du.as(), n);
    const std::vector<double> rout = ref::swiglu_forward(to_d(gate), to_d(up));
    expect_close(download(be(), out, n), rout, kElementwise, fmt::format("swiglu_forward n={}", n));
    // out may alias up (backend.h): the model does this to save memory.
    be().swiglu_forward(du.as(), dg.as(), du.as(), n);
    expect_close(download(be(), du, n), rout, kElementwise, "swiglu_forward in place");

    DeviceBuffer du2 = upload(be(), up), dd = upload(be(), dout);
    DeviceBuffer dgate = poisoned(be(), n), dup = poisoned(be(), n);
    be().swiglu_backward(dgate.as(), dup.as(), dd.as(), dg.as(), du2.as(), n);
    std::vector<double> rdg, rdu;
    ref::swiglu_backward(rdg, rdu, to_d(dout), to_d(gate), to_d(up));
    expect_close(download(be(), dgate, n), rdg, kElementwise, fmt::format("swiglu dgate n={}", n));
    expect_close(download(be(), dup, n), rdu, kElementwise, fmt::format("swiglu dup n={}", n));
  }
}

TEST_P(LayersTest, CrossEntropy) {
  for (auto [n, V] : {std::pair{1, 5}, {3, 17}, {33, 127}, {17, 1000}, {5, 1031}}) {
    // Large, shifted logits: without max-subtraction exp overflows.
    std::vector<float> logits = randn(size_t(n) * V, 8.0f, 40.0f);
    std::vector<int32_t> targets = randint(n, 0, V);
    if (n > 2) targets[1] = -1;  // ignored position
    // One row with a single dominant logit (p ~ 1): loss ~ 0 and entropy ~ 0 must stay accurate
    // in absolute terms. Only in batches with ordinary rows, whose scale makes NMSE meaningful.
    if (n > 1) logits[size_t(n - 1) * V + targets[n - 1]] += 100.0f;
    const std::vector<float> dloss = randn(n);
    DeviceBuffer dl = upload(be(), logits), dt = upload(be(), targets), dd = upload(be(), dloss);
    DeviceBuffer loss = poisoned(be(), n), ent = poisoned(be(), n);
    be().cross_entropy_forward(loss.as(), ent.as(), dl.as(), dt.as<int32_t>(), n, V);
    std::vector<double> rloss, rent;
    ref::cross_entropy_forward(rloss, rent, to_d(logits), targets, n, V);
    const std::string at = fmt::format("n={} V={}", n, V);
    expect_close(download(be(), loss, n), rloss, kCrossEntropy, "cross_entropy loss " + at);
    expect_close(download(be(), ent, n), rent, kCrossEntropy, "cross_entropy entropy " + at);

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
  DeviceBuffer a(be(), 64), t = upload(be(), std::vector<int32_t>{5});
  expect_op_error("cross_entropy_forward", [&] {
    be().cross_entropy_forward(a.as(), a.as(), a.as(), t.as<int32_t>(), 1, 5);
  });
}

}  // namespace
}  // namespace tandem::test
