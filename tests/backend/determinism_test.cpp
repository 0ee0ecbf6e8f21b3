// Determinism (backend.h): the same inputs give the same bits, whatever the thread count and
// wherever a row sits in a batch.
#include <omp.h>

#include <cmath>
#include <functional>

#include "backend_test_util.h"

namespace tandem::test {
namespace {

class DeterminismTest : public BackendTest {};
TANDEM_BACKEND_SUITE(DeterminismTest);

// Each case runs kernels on fixed inputs and returns all their outputs, flattened. A case that
// calls optional ops lists them in `needs`: those run in the Training* tests, which skip on a
// backend without them, so the serving kernels' determinism is checked on every backend.
using Needs = std::vector<Op>;
struct Case {
  std::string name;
  Needs needs;
  std::function<std::vector<float>(Backend&)> run;
};

std::vector<float> concat(std::initializer_list<std::vector<float>> parts) {
  std::vector<float> r;
  for (const auto& p : parts) r.insert(r.end(), p.begin(), p.end());
  return r;
}

std::vector<Case> cases() {
  std::vector<Case> all;
  const int n = 67, C = 1031, V = 1031;
  const auto x = randn(size_t(n) * C), w = randn(C), dout = randn(size_t(n) * C), dw0 = randn(C);
  all.emplace_back("rmsnorm_forward", Needs{}, [=](Backend& be) {
    DeviceBuffer dx = upload(be, x), dw = upload(be, w), out(be, x.size() * 4), rstd(be, n * 4);
    be.rmsnorm_forward(out.as(), rstd.as(), dx.as(), dw.as(), n, C, 1e-6f);
    return concat({download(be, out, x.size()), download(be, rstd, n)});
  });
  all.emplace_back("rmsnorm", Needs{Op::RmsNormBackward}, [=](Backend& be) {
    DeviceBuffer dx = upload(be, x), dw = upload(be, w), dd = upload(be, dout),
                 ddw = upload(be, dw0);
    DeviceBuffer out(be, x.size() * 4), rstd(be, n * 4), gx(be, x.size() * 4);
    be.rmsnorm_forward(out.as(), rstd.as(), dx.as(), dw.as(), n, C, 1e-6f);
    be.rmsnorm_backward(gx.as(), ddw.as(), dd.as(), dx.as(), dw.as(), rstd.as(), n, C);
    auto r = download(be, out, x.size()), g = download(be, gx, x.size()), gw = download(be, ddw, C);
    r.insert(r.end(), g.begin(), g.end());
    r.insert(r.end(), gw.begin(), gw.end());
    return r;
  });
  const auto ids = randint(300, 0, 50);
  const auto drows = randn(300 * size_t(C)), table0 = randn(50 * size_t(C));
  all.emplace_back("embedding_backward", Needs{Op::EmbeddingBackward}, [=](Backend& be) {
    DeviceBuffer di = upload(be, ids), dd = upload(be, drows), dt = upload(be, table0);
    be.embedding_backward(dt.as(), dd.as(), di.as<int32_t>(), 300, C);
    return download(be, dt, table0.size());
  });
  const auto logits = randn(size_t(n) * V, 5.0f), dloss = randn(n);
  const auto targets = randint(n, 0, V);
  all.emplace_back("cross_entropy_forward", Needs{}, [=](Backend& be) {
    DeviceBuffer dl = upload(be, logits), dt = upload(be, targets), loss(be, n * 4), ent(be, n * 4);
    be.cross_entropy_forward(loss.as(), ent.as(), dl.as(), dt.as<int32_t>(), n, V);
    return concat({download(be, loss, n), download(be, ent, n)});
  });
  all.emplace_back("cross_entropy", Needs{Op::CrossEntropyBackward}, [=](Backend& be) {
    DeviceBuffer dl = upload(be, logits), dt = upload(be, targets), dd = upload(be, dloss);
    DeviceBuffer loss(be, n * 4), ent(be, n * 4);
    be.cross_entropy_forward(loss.as(), ent.as(), dl.as(), dt.as<int32_t>(), n, V);
    be.cross_entropy_backward(dl.as(), dl.as(), dt.as<int32_t>(), dd.as(), n, V);
    auto r = download(be, loss, n), e = download(be, ent, n), g = download(be, dl, logits.size());
    r.insert(r.end(), e.begin(), e.end());
    r.insert(r.end(), g.begin(), g.end());
    return r;
  });
  const int B = 2, T = 130, Hq = 4, Hkv = 2, D = 64;
  const size_t nq = size_t(B) * T * Hq * D, nk = size_t(B) * T * Hkv * D;
  const auto q = randn(nq), k = randn(nk), v = randn(nk), dat = randn(nq);
  all.emplace_back("attention_forward", Needs{}, [=](Backend& be) {
    DeviceBuffer dq = upload(be, q), dk = upload(be, k), dv = upload(be, v);
    DeviceBuffer out(be, nq * 4), lse(be, size_t(B) * Hq * T * 4);
    be.attention_forward(out.as(), lse.as(), dq.as(), dk.as(), dv.as(), nullptr, B, T, Hq, Hkv, D,
                         0.125f);
    return concat({download(be, out, nq), download(be, lse, size_t(B) * Hq * T)});
  });
  all.emplace_back("attention", Needs{Op::AttentionBackward}, [=](Backend& be) {
    DeviceBuffer dq = upload(be, q), dk = upload(be, k), dv = upload(be, v), dd = upload(be, dat);
    DeviceBuffer out(be, nq * 4), lse(be, size_t(B) * Hq * T * 4), gq(be, nq * 4), gk(be, nk * 4),
        gv(be, nk * 4);
    be.attention_forward(out.as(), lse.as(), dq.as(), dk.as(), dv.as(), nullptr, B, T, Hq, Hkv, D,
                         0.125f);
    be.attention_backward(gq.as(), gk.as(), gv.as(), dd.as(), dq.as(), dk.as(), dv.as(), nullptr,
                          out.as(), lse.as(), B, T, Hq, Hkv, D, 0.125f);
    std::vector<float> r;
    for (const DeviceBuffer* b : {&out, &gq, &gk, &gv}) {
      auto part = download(be, *b, b->bytes() / 4);
      r.insert(r.end(), part.begin(), part.end());
    }
    return r;
  });
  const auto big = randn(3000007), g = randn(3000007);
  all.emplace_back("sum_squares", Needs{}, [=](Backend& be) {
    DeviceBuffer dx = upload(be, big);
    const uint64_t bits = std::bit_cast<uint64_t>(be.sum_squares(dx.as(), big.size()));
    return std::vector<float>{std::bit_cast<float>(uint32_t(bits)),
                              std::bit_cast<float>(uint32_t(bits >> 32))};
  });
  all.emplace_back("sum_squares_adamw", Needs{Op::AdamwStep}, [=](Backend& be) {
    DeviceBuffer dx = upload(be, big), dg = upload(be, g), m(be, big.size() * 4),
                 vv(be, big.size() * 4);
    const double s = be.sum_squares(dx.as(), big.size());
    be.adamw_step(dx.as(), dg.as(), m.as(), vv.as(), big.size(), 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f,
                  0.5f, 3);
    std::vector<float> r = download(be, dx, big.size());
    const uint64_t bits = std::bit_cast<uint64_t>(s);
    r.push_back(std::bit_cast<float>(uint32_t(bits)));
    r.push_back(std::bit_cast<float>(uint32_t(bits >> 32)));
    return r;
  });
  const auto A = randn(300 * 257), Bm = randn(257 * 129);
  all.emplace_back("gemm", Needs{}, [=](Backend& be) {
    DeviceBuffer dA = upload(be, A), dB = upload(be, Bm), dC(be, 300 * 129 * 4);
    be.gemm(false, false, 300, 129, 257, 1.0f, dA.as(), 257, dB.as(), 129, 0.0f, dC.as(), 129);
    return download(be, dC, 300 * 129);
  });
  return all;
}

// The cases that call optional ops (training) or only mandatory ones (serving).
std::vector<Case> cases(bool training) {
  std::vector<Case> picked;
  for (Case& c : cases())
    if (c.needs.empty() != training) picked.push_back(std::move(c));
  return picked;
}

// Every optional op the cases call.
Needs needs_of(const std::vector<Case>& cs) {
  Needs needs;
  for (const Case& c : cs) needs.insert(needs.end(), c.needs.begin(), c.needs.end());
  return needs;
}

void expect_same_call_twice_same_bits(Backend& be, const std::vector<Case>& cs) {
  for (const Case& c : cs) EXPECT_TRUE(same_bits(c.run(be), c.run(be))) << c.name;
}

void expect_independent_of_thread_count(Backend& be, const std::vector<Case>& cs) {
  const int saved = omp_get_max_threads();
  for (const Case& c : cs) {
    omp_set_num_threads(1);
    const auto one = c.run(be);
    omp_set_num_threads(std::max(2, saved));
    const auto many = c.run(be);
    EXPECT_TRUE(same_bits(one, many)) << c.name;
  }
  omp_set_num_threads(saved);
}

TEST_P(DeterminismTest, SameCallTwiceSameBits) {
  expect_same_call_twice_same_bits(be(), cases(false));
}
TEST_P(DeterminismTest, IndependentOfThreadCount) {
  expect_independent_of_thread_count(be(), cases(false));
}
TEST_P(DeterminismTest, TrainingSameCallTwiceSameBits) {
  const std::vector<Case> training = cases(true);
  TANDEM_SKIP_UNLESS_SUPPORTED_ALL(needs_of(training));
  expect_same_call_twice_same_bits(be(), training);
}
TEST_P(DeterminismTest, TrainingIndependentOfThreadCount) {
  const std::vector<Case> training = cases(true);
  TANDEM_SKIP_UNLESS_SUPPORTED_ALL(needs_of(training));
  expect_independent_of_thread_count(be(), training);
}

TEST_P(DeterminismTest, RowIndependentOfBatchPosition) {
  const int C = 1031, V = 997;
  const auto x = randn(3 * size_t(C)), w = randn(C);
  auto rms = [&](const std::vector<float>& in, int n) {
    DeviceBuffer dx = upload(be(), in), dw = upload(be(), w), out(be(), in.size() * 4),
                 r(be(), n * 4);
    be().rmsnorm_forward(out.as(), r.as(), dx.as(), dw.as(), n, C, 1e-6f);
    return download(be(), out, in.size());
  };
  const auto batch = rms(x, 3);
  const auto alone = rms({x.begin() + C, x.begin() + 2 * C}, 1);
  EXPECT_TRUE(same_bits(alone, {batch.begin() + C, batch.begin() + 2 * C})) << "rmsnorm";

  const auto logits = randn(3 * size_t(V), 4.0f);
  const std::vector<int32_t> t3 = {3, 500, 996};
  auto ce = [&](const std::vector<float>& in, const std::vector<int32_t>& t, int n) {
    DeviceBuffer dl = upload(be(), in), dt = upload(be(), t), loss(be(), n * 4), ent(be(), n * 4);
    be().cross_entropy_forward(loss.as(), ent.as(), dl.as(), dt.as<int32_t>(), n, V);
    return std::vector<std::vector<float>>{download(be(), loss, n), download(be(), ent, n)};
  };
  const auto cb = ce(logits, t3, 3),
             ca = ce({logits.begin() + V, logits.begin() + 2 * V}, {500}, 1);
  EXPECT_EQ(std::bit_cast<uint32_t>(cb[0][1]), std::bit_cast<uint32_t>(ca[0][0])) << "ce loss";
  EXPECT_EQ(std::bit_cast<uint32_t>(cb[1][1]), std::bit_cast<uint32_t>(ca[1][0])) << "ce entropy";

  // Attention: sequence 1 of B=3 against B=1.
  const int T = 77, Hq = 4, Hkv = 2, D = 32;
  const size_t sq = size_t(T) * Hq * D, sk = size_t(T) * Hkv * D;
  const auto q = randn(3 * sq), k = randn(3 * sk), v = randn(3 * sk);
  auto fwd = [&](const std::vector<float>& qq, const std::vector<float>& kk,
                 const std::vector<float>& vv, int B) {
    DeviceBuffer dq = upload(be(), qq), dk = upload(be(), kk), dv = upload(be(), vv);
    DeviceBuffer out(be(), qq.size() * 4), lse(be(), size_t(B) * Hq * T * 4);
    be().attention_forward(out.as(), lse.as(), dq.as(), dk.as(), dv.as(), nullptr, B, T, Hq, Hkv, D,
                           0.2f);
    return download(be(), out, qq.size());
  };
  const auto fb = fwd(q, k, v, 3);
  const auto fa = fwd({q.begin() + sq, q.begin() + 2 * sq}, {k.begin() + sk, k.begin() + 2 * sk},
                      {v.begin() + sk, v.begin() + 2 * sk}, 1);
  EXPECT_TRUE(same_bits(fa, {fb.begin() + sq, fb.begin() + 2 * sq})) << "attention_forward";

  // Decode: sequence 1 of B=3 (other sequences of other lengths) against B=1.
  const size_t qd = size_t(Hq) * D;
  auto dec = [&](const std::vector<float>& qq, const std::vector<float>& kk,
                 const std::vector<float>& vv, const std::vector<int32_t>& lens) {
    const int B = int(lens.size());
    DeviceBuffer dq = upload(be(), qq), dk = upload(be(), kk), dv = upload(be(), vv);
    DeviceBuffer dl = upload(be(), lens), out(be(), qq.size() * 4);
    be().attention_decode(out.as(), dq.as(), dk.as(), dv.as(), nullptr, dl.as<int32_t>(), B, B, T,
                          Hq, Hkv, D, 0.2f);
    return download(be(), out, qq.size());
  };
  const std::vector<float> q3(q.begin(), q.begin() + 3 * qd);
  const auto db = dec(q3, k, v, {77, 50, 9});
  const auto da = dec({q3.begin() + qd, q3.begin() + 2 * qd}, {k.begin() + sk, k.begin() + 2 * sk},
                      {v.begin() + sk, v.begin() + 2 * sk}, {50});
  EXPECT_TRUE(same_bits(da, {db.begin() + qd, db.begin() + 2 * qd})) << "attention_decode";
}

// Likewise for cross-entropy's backward: a row's gradient must not depend on its place.
TEST_P(DeterminismTest, CrossEntropyBackwardRowIndependentOfBatchPosition) {
  TANDEM_SKIP_UNLESS_SUPPORTED(Op::CrossEntropyBackward);
  const int V = 997;
  const auto logits = randn(3 * size_t(V), 4.0f);
  auto grad = [&](const std::vector<float>& in, const std::vector<int32_t>& t, int n) {
    DeviceBuffer dl = upload(be(), in), dt = upload(be(), t), g(be(), in.size() * 4);
    DeviceBuffer dd = upload(be(), std::vector<float>(n, 1.0f));
    be().cross_entropy_backward(g.as(), dl.as(), dt.as<int32_t>(), dd.as(), n, V);
    return download(be(), g, in.size());
  };
  const auto gb = grad(logits, {3, 500, 996}, 3),
             ga = grad({logits.begin() + V, logits.begin() + 2 * V}, {500}, 1);
  EXPECT_TRUE(same_bits(ga, {gb.begin() + V, gb.begin() + 2 * V})) << "ce dlogits";
}

}  // namespace
}  // namespace tandem::test
