// Conformance of the memory entry points, GEMM, add, the optimizer and the reductions.
#include <omp.h>

#include "backend_test_util.h"

namespace tandem::test {
namespace {

// Elementwise kernels: a handful of fp32 roundings per element.
constexpr Tol kElementwise{1e-12, 1e-5};
// GEMM: each element is a K-term fp32 dot product; rounding error grows like sqrt(K) * eps on
// average and K * eps at worst (K <= 300 here): NMSE ~ K eps^2 ~ 4e-12, max ~ K eps ~ 4e-5.
// AdamW over several steps: the update divides by sqrt(v) + eps, which amplifies the relative
// rounding of m and v; steps compound it a little.
constexpr Tol kAdamW{1e-11, 1e-5};

class DenseTest : public BackendTest {};
TANDEM_BACKEND_SUITE(DenseTest);

TEST_P(DenseTest, AllocIsZeroedAndAligned) {
  for (size_t bytes : {size_t(4), size_t(100), size_t(4096 + 4), size_t(3) << 20}) {
    DeviceBuffer buf(be(), bytes);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(buf.as<void>()) % 64, 0u) << bytes;
    std::vector<unsigned char> host(bytes, 0xAB);
    be().to_host(host.data(), buf.as<void>(), bytes);
    EXPECT_TRUE(std::all_of(host.begin(), host.end(), [](unsigned char c) { return c == 0; }))
        << bytes << " bytes not zeroed";
  }
}

TEST_P(DenseTest, CopyRoundTripAndFill) {
  for (size_t n : {size_t(1), size_t(17), size_t(1000003)}) {
    const std::vector<float> x = randn(n);
    DeviceBuffer a = upload(be(), x);
    DeviceBuffer b = poisoned(be(), n);
    be().copy(b.as<void>(), a.as<void>(), n * sizeof(float));
    EXPECT_TRUE(same_bits(download(be(), b, n), x)) << n;
    // Partial copy at an odd offset leaves the rest alone.
    if (n > 3) {
      be().fill(b.as(), 2.5f, n);
      be().copy(b.as() + 1, a.as() + 2, (n - 3) * sizeof(float));
      const std::vector<float> y = download(be(), b, n);
      EXPECT_EQ(y[0], 2.5f);
      EXPECT_EQ(y[n - 2], 2.5f);
      EXPECT_EQ(y[n - 1], 2.5f);
      EXPECT_EQ(y[1], x[2]);
      EXPECT_EQ(y[n - 3], x[n - 2]);
    }
    be().fill(b.as(), -3.25f, n);
    const std::vector<float> y = download(be(), b, n);
    EXPECT_TRUE(std::all_of(y.begin(), y.end(), [](float v) { return v == -3.25f; })) << n;
  }
}

TEST_P(DenseTest, GemmMatchesReference) {
  const GemmCase cases[] = {{1, 1, 1, 1},      {3, 17, 33, 1},  {127, 33, 65, 1},
                            {64, 128, 256, 1}, {17, 1, 127, 1}, {1, 129, 31, 1},
                            {5, 7, 3, 3},      {33, 65, 17, 4}, {150, 140, 300, 2},
                            {1, 300, 257, 1},  {1, 40, 300, 3}};  // one row: the decode path
  for (const GemmCase& c : cases)
    for (int t = 0; t < 4; ++t)
      for (bool accumulate : {false, true})
        expect_gemm_matches_reference(be(), c, t & 1, t & 2, accumulate ? 0.75f : 1.0f,
                                      accumulate ? -1.5f : 0.0f);
}

TEST_P(DenseTest, Add) {
  for (size_t n : {size_t(1), size_t(33), size_t(100003)}) {
    const std::vector<float> x = randn(n), y = randn(n);
    DeviceBuffer dx = upload(be(), x), dy = upload(be(), y);
    be().add(dy.as(), dx.as(), n);
    std::vector<double> ref(n);
    for (size_t i = 0; i < n; ++i) ref[i] = double(y[i]) + x[i];
    expect_close(download(be(), dy, n), ref, kElementwise, fmt::format("add n={}", n));
  }
}

TEST_P(DenseTest, AdamWOverSeveralSteps) {
  TANDEM_SKIP_UNLESS_SUPPORTED(Op::AdamwStep);
  const size_t n = 100003;
  const float lr = 3e-3f, b1 = 0.9f, b2 = 0.95f, eps = 1e-8f, wd = 0.1f;
  const std::vector<float> p0 = randn(n);
  DeviceBuffer p = upload(be(), p0), m(be(), n * 4), v(be(), n * 4);
  std::vector<double> rp = to_d(p0), rm(n, 0.0), rv(n, 0.0);
  for (int64_t step = 1; step <= 5; ++step) {
    // Gradients of varied scale, some exactly zero (v stays 0 there: eps keeps the ratio finite).
    std::vector<float> g = randn(n, step == 3 ? 1e-3f : 1.0f);
    for (size_t i = 0; i < n; i += 97) g[i] = 0.0f;
    const float scale = step == 2 ? 0.25f : 1.0f;
    DeviceBuffer dg = upload(be(), g);
    be().adamw_step(p.as(), dg.as(), m.as(), v.as(), n, lr, b1, b2, eps, wd, scale, step);
    ref::adamw_step(rp, to_d(g), rm, rv, lr, b1, b2, eps, wd, scale, step);
  }
  expect_close(download(be(), p, n), rp, kAdamW, "adamw p");
  expect_close(download(be(), m, n), rm, kAdamW, "adamw m");
  expect_close(download(be(), v, n), rv, kAdamW, "adamw v");
  DeviceBuffer a(be(), 64);  // step counts from 1
  expect_op_error("adamw_step", [&] {
    be().adamw_step(a.as(), a.as(), a.as(), a.as(), 1, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.0f, 1.0f, 0);
  });
}

TEST_P(DenseTest, SumSquaresAndAllFinite) {
  for (size_t n : {size_t(1), size_t(15), size_t(65537), size_t(1000001)}) {
    const std::vector<float> x = randn(n, 3.0f);
    DeviceBuffer dx = upload(be(), x);
    const double ref = ref::sum_squares(to_d(x));
    // Double accumulation of float squares: only the order of the sum differs.
    EXPECT_NEAR(be().sum_squares(dx.as(), n), ref, 1e-12 * ref) << n;
    EXPECT_TRUE(be().all_finite(dx.as(), n)) << n;
    for (float bad : {INFINITY, -INFINITY, NAN}) {
      for (size_t at : {size_t(0), n / 2, n - 1}) {
        std::vector<float> y = x;
        y[at] = bad;
        DeviceBuffer dy = upload(be(), y);
        EXPECT_FALSE(be().all_finite(dy.as(), n)) << "n=" << n << " at=" << at << " " << bad;
        const double s = be().sum_squares(dy.as(), n);
        EXPECT_FALSE(std::isfinite(s)) << "sum_squares must propagate " << bad;
      }
    }
  }
  // Largest finite float is finite; its square overflows float but not the double sum.
  const std::vector<float> big = {3.0e38f, -3.0e38f};
  DeviceBuffer db = upload(be(), big);
  EXPECT_TRUE(be().all_finite(db.as(), 2));
  const double big2 = 2.0 * double(big[0]) * double(big[0]);
  EXPECT_NEAR(be().sum_squares(db.as(), 2), big2, 1e-15 * big2);
  EXPECT_EQ(be().sum_squares(db.as(), 0), 0.0);
  EXPECT_TRUE(be().all_finite(db.as(), 0));
}

TEST_P(DenseTest, BadArgumentsThrowWithOpName) {
  DeviceBuffer a(be(), 64);
  expect_op_error("gemm", [&] {
    be().gemm(false, false, 2, 2, 2, 1.0f, a.as(), 1, a.as(), 2, 0.0f, a.as(), 2);
  });
}

}  // namespace
}  // namespace tandem::test
