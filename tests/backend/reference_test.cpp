// The oracle proven: each reference backward against central finite differences of the
// reference forward, all in double. If these pass, a backend matching the references is right.
#include <cmath>
#include <functional>

#include "backend_test_util.h"

namespace tandem::test {
namespace {

using ref::Vec;

// Central differences with h = 1e-6 in double: truncation O(h^2 f''') ~ 1e-12, cancellation
// ~ 1e-16 / h = 1e-10; 1e-7 relative to the gradient's scale leaves a wide margin while any
// wrong term in a backward (order 1) fails by orders of magnitude.
constexpr double kStep = 1e-6, kFdTol = 1e-7;

// Checks grad (from a backward, given the upstream weights) against d/dx of loss(x) at x.
void check_gradient(const std::string& what, Vec x, const Vec& grad,
                    const std::function<double(const Vec&)>& loss) {
  ASSERT_EQ(x.size(), grad.size()) << what;
  double scale = 1e-3;
  for (double g : grad) scale = std::max(scale, std::abs(g));
  for (size_t i = 0; i < x.size(); ++i) {
    const double x0 = x[i];
    x[i] = x0 + kStep;
    const double up = loss(x);
    x[i] = x0 - kStep;
    const double down = loss(x);
    x[i] = x0;
    EXPECT_NEAR(grad[i], (up - down) / (2 * kStep), kFdTol * scale) << what << " element " << i;
  }
}

double weighted(const Vec& y, const Vec& w) {
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i) s += y[i] * w[i];
  return s;
}

TEST(ReferenceTest, RmsNormBackwardIsTheGradient) {
  const int n = 3, C = 7;
  const double eps = 1e-5;
  const Vec x = to_d(randn(n * C)), w = to_d(randn(C)), g = to_d(randn(n * C));
  Vec dx, dw(C, 0.0);
  ref::rmsnorm_backward(dx, dw, g, x, w, n, C, eps);
  auto loss_x = [&](const Vec& xx) {
    Vec out, r;
    ref::rmsnorm_forward(out, r, xx, w, n, C, eps);
    return weighted(out, g);
  };
  auto loss_w = [&](const Vec& ww) {
    Vec out, r;
    ref::rmsnorm_forward(out, r, x, ww, n, C, eps);
    return weighted(out, g);
  };
  check_gradient("rmsnorm dx", x, dx, loss_x);
  check_gradient("rmsnorm dw", w, dw, loss_w);
}

TEST(ReferenceTest, RopeBackwardIsTheGradient) {
  const int n = 3, H = 2, D = 8, max_pos = 5;
  Vec table(size_t(max_pos) * D);
  for (int p = 0; p < max_pos; ++p)
    for (int j = 0; j < D / 2; ++j) {
      table[(p * D / 2 + j) * 2] = std::cos(p * 0.7 + j);
      table[(p * D / 2 + j) * 2 + 1] = std::sin(p * 0.7 + j);
    }
  const std::vector<int32_t> pos = {0, 4, 2};
  const Vec x = to_d(randn(n * H * D)), g = to_d(randn(n * H * D));
  const Vec dx = ref::rope(g, pos, table, n, H, D, true);
  check_gradient("rope", x, dx, [&](const Vec& xx) {
    return weighted(ref::rope(xx, pos, table, n, H, D, false), g);
  });
}

TEST(ReferenceTest, AttentionBackwardIsTheGradient) {
  const int B = 2, T = 5, Hq = 4, Hkv = 2, D = 4;
  const double scale = 0.6;
  const size_t nq = size_t(B) * T * Hq * D, nk = size_t(B) * T * Hkv * D;
  const Vec q = to_d(randn(nq)), k = to_d(randn(nk)), v = to_d(randn(nk)), g = to_d(randn(nq));
  Vec dq, dk, dv;
  ref::attention_backward(dq, dk, dv, g, q, k, v, {}, B, T, Hq, Hkv, D, scale);
  auto f = [&](const Vec& qq, const Vec& kk, const Vec& vv) {
    Vec out, lse;
    ref::attention_forward(out, lse, qq, kk, vv, {}, B, T, Hq, Hkv, D, scale);
    return weighted(out, g);
  };
  check_gradient("attention dq", q, dq, [&](const Vec& x) { return f(x, k, v); });
  check_gradient("attention dk", k, dk, [&](const Vec& x) { return f(q, x, v); });
  check_gradient("attention dv", v, dv, [&](const Vec& x) { return f(q, k, x); });
  // The forward's lse is the log-sum-exp of the scaled scores of each causal row.
  Vec out, lse;
  ref::attention_forward(out, lse, q, k, v, {}, B, T, Hq, Hkv, D, scale);
  double z = 0;  // row t = 1 of (b = 0, h = 3): keys 0 and 1 of kv head 1
  for (int j = 0; j <= 1; ++j) {
    double s = 0;
    for (int d = 0; d < D; ++d) s += q[(1 * Hq + 3) * D + d] * k[(j * Hkv + 1) * D + d];
    z += std::exp(s * scale);
  }
  EXPECT_NEAR(lse[3 * T + 1], std::log(z), 1e-12);
}

// Two documents packed in one row give what each gives alone.
TEST(ReferenceTest, PackedRowIsItsDocumentsAlone) {
  const int T = 7, split = 3, Hq = 2, Hkv = 1, D = 4;
  const Vec q = to_d(randn(size_t(T) * Hq * D)), k = to_d(randn(size_t(T) * Hkv * D)),
            v = to_d(randn(size_t(T) * Hkv * D));
  const ref::IVec pos = {0, 1, 2, 0, 1, 2, 3};
  Vec out, lse;
  ref::attention_forward(out, lse, q, k, v, pos, 1, T, Hq, Hkv, D, 0.5);
  for (auto [from, len] : {std::pair{0, split}, std::pair{split, T - split}}) {
    auto part = [&](const Vec& x, int H) {
      return Vec(x.begin() + size_t(from) * H * D, x.begin() + size_t(from + len) * H * D);
    };
    Vec o, l;
    ref::attention_forward(o, l, part(q, Hq), part(k, Hkv), part(v, Hkv), {}, 1, len, Hq, Hkv, D,
                           0.5);
    const Vec want = part(out, Hq);
    for (size_t i = 0; i < o.size(); ++i) EXPECT_NEAR(o[i], want[i], 1e-12) << from << " " << i;
  }
}

TEST(ReferenceTest, DecodeIsTheLastRowOfForward) {
  const int B = 2, T = 6, Hq = 2, Hkv = 1, D = 4;
  const Vec q = to_d(randn(size_t(B) * T * Hq * D)), k = to_d(randn(size_t(B) * T * Hkv * D)),
            v = to_d(randn(size_t(B) * T * Hkv * D));
  Vec out, lse;
  ref::attention_forward(out, lse, q, k, v, {}, B, T, Hq, Hkv, D, 0.5);
  Vec q_last;
  for (int b = 0; b < B; ++b)
    q_last.insert(q_last.end(), q.begin() + ((b * T + T - 1) * Hq) * D,
                  q.begin() + ((b * T + T) * Hq) * D);
  const Vec dec = ref::attention_decode(q_last, k, v, {}, {T, T}, B, T, Hq, Hkv, D, 0.5);
  for (int b = 0; b < B; ++b)
    for (int i = 0; i < Hq * D; ++i)
      EXPECT_NEAR(dec[b * Hq * D + i], out[(b * T + T - 1) * Hq * D + i], 1e-14);
}

TEST(ReferenceTest, SwiGluBackwardIsTheGradient) {
  const Vec gate = to_d(randn(9, 3.0f)), up = to_d(randn(9)), g = to_d(randn(9));
  Vec dgate, dup;
  ref::swiglu_backward(dgate, dup, g, gate, up);
  check_gradient("swiglu dgate", gate, dgate,
                 [&](const Vec& x) { return weighted(ref::swiglu_forward(x, up), g); });
  check_gradient("swiglu dup", up, dup,
                 [&](const Vec& x) { return weighted(ref::swiglu_forward(gate, x), g); });
}

TEST(ReferenceTest, CrossEntropyBackwardIsTheGradient) {
  const int n = 3, V = 6;
  const Vec logits = to_d(randn(n * V, 2.0f)), dloss = to_d(randn(n));
  const std::vector<int32_t> targets = {2, -1, 5};
  const Vec d = ref::cross_entropy_backward(logits, targets, dloss, n, V);
  check_gradient("cross_entropy", logits, d, [&](const Vec& x) {
    Vec loss, ent;
    ref::cross_entropy_forward(loss, ent, x, targets, n, V);
    return weighted(loss, dloss);
  });
  // Entropy of a uniform row is log V; loss of a uniform row too.
  Vec loss, ent;
  ref::cross_entropy_forward(loss, ent, Vec(V, 1.5), {0}, 1, V);
  EXPECT_NEAR(ent[0], std::log(V), 1e-14);
  EXPECT_NEAR(loss[0], std::log(V), 1e-14);
}

TEST(ReferenceTest, EmbeddingBackwardIsTheGradient) {
  const int n = 4, C = 3, V = 5;
  const std::vector<int32_t> ids = {1, 4, 1, 0};
  const Vec table = to_d(randn(V * C)), g = to_d(randn(n * C));
  Vec dtable(V * C, 0.0);
  ref::embedding_backward(dtable, g, ids, n, C);
  check_gradient("embedding", table, dtable,
                 [&](const Vec& t) { return weighted(ref::embedding_forward(ids, t, n, C), g); });
}

TEST(ReferenceTest, GemmIsAMatrixProduct) {
  // A 2x2 product worked by hand, in each transpose layout.
  const Vec A = {1, 2, 3, 4}, B = {5, 6, 7, 8};
  Vec C(4, 100.0);
  ref::gemm(false, false, 2, 2, 2, 1.0, A, 2, B, 2, 0.5, C, 2);
  EXPECT_EQ(C, (Vec{19 + 50, 22 + 50, 43 + 50, 50 + 50}));
  ref::gemm(true, true, 2, 2, 2, 1.0, A, 2, B, 2, 0.0, C, 2);  // A^T B^T = (B A)^T
  EXPECT_EQ(C, (Vec{23, 31, 34, 46}));
}

TEST(ReferenceTest, AdamWFirstStepIsSignedLearningRate) {
  // With bias correction the first step moves each weight by lr * g / (|g| + eps') = ~lr * sign.
  Vec p = {1.0, -2.0}, m(2, 0.0), v(2, 0.0);
  ref::adamw_step(p, {0.5, -3.0}, m, v, 0.1, 0.9, 0.95, 0.0, 0.0, 1.0, 1);
  EXPECT_NEAR(p[0], 0.9, 1e-12);
  EXPECT_NEAR(p[1], -1.9, 1e-12);
}

}  // namespace
}  // namespace tandem::test
