// Conformance of causal GQA attention: forward, backward and decode against the references.
#include <cmath>

#include "backend_test_util.h"

namespace tandem::test {
namespace {

// Scores are D-term dot products (D <= 128), softmax over <= 130 keys, then a <= 130-term
// weighted sum; the backward adds sums over rows and the query heads of a group. fp32 rounding
// of those sums gives NMSE ~ 1e-13; the bound leaves room for exp approximations (~2 ulp).
constexpr Tol kAttention{1e-10, 1e-4};
// lse is a log-sum-exp of D-term fp32 dot products: with one key (T = 1) it is that dot product
// itself, whose relative error grows with cancellation between its terms, so it gets the same
// bound as the outputs rather than a log-sum-exp's few ulps.
constexpr Tol kLse = kAttention;

struct Shape {
  int B, T, Hq, Hkv, D;
};
std::string str(const Shape& s) {
  return fmt::format("B={} T={} Hq={} Hkv={} D={}", s.B, s.T, s.Hq, s.Hkv, s.D);
}

// Odd lengths, block edges (64, 65), GQA ratios 1, 2, 4, head dims 16-128.
const Shape kShapes[] = {{1, 1, 1, 1, 16},  {2, 3, 2, 1, 32},   {1, 17, 4, 2, 64},
                         {2, 33, 4, 4, 16}, {1, 65, 2, 1, 128}, {1, 130, 4, 1, 64},
                         {2, 64, 8, 4, 32}, {1, 127, 2, 2, 16}};

class AttentionTest : public BackendTest {};
TANDEM_BACKEND_SUITE(AttentionTest);

// q scaled up so some softmax rows are peaked, others flat.
struct AttentionInput {
  std::vector<float> q, k, v;
};
AttentionInput attention_input(const Shape& s) {
  const size_t nq = size_t(s.B) * s.T * s.Hq * s.D, nk = size_t(s.B) * s.T * s.Hkv * s.D;
  return {randn(nq, 2.0f), randn(nk), randn(nk)};
}

TEST_P(AttentionTest, ForwardMatchesReference) {
  for (const Shape& s : kShapes) {
    const size_t nq = size_t(s.B) * s.T * s.Hq * s.D, nl = size_t(s.B) * s.Hq * s.T;
    const double scale = 1.0 / std::sqrt(double(s.D));
    const auto [q, k, v] = attention_input(s);
    DeviceBuffer dq_in = upload(be(), q), dk_in = upload(be(), k), dv_in = upload(be(), v);
    DeviceBuffer out = poisoned(be(), nq), lse = poisoned(be(), nl);
    be().attention_forward(out.as(), lse.as(), dq_in.as(), dk_in.as(), dv_in.as(), nullptr, s.B,
                           s.T, s.Hq, s.Hkv, s.D, float(scale));
    std::vector<double> rout, rlse;
    ref::attention_forward(rout, rlse, to_d(q), to_d(k), to_d(v), {}, s.B, s.T, s.Hq, s.Hkv, s.D,
                           scale);
    expect_close(download(be(), out, nq), rout, kAttention, "attention out " + str(s));
    expect_close(download(be(), lse, nl), rlse, kLse, "attention lse " + str(s));
  }
}

TEST_P(AttentionTest, BackwardMatchesReference) {
  TANDEM_SKIP_UNLESS_SUPPORTED(Op::AttentionBackward);
  for (const Shape& s : kShapes) {
    const size_t nq = size_t(s.B) * s.T * s.Hq * s.D, nk = size_t(s.B) * s.T * s.Hkv * s.D;
    const size_t nl = size_t(s.B) * s.Hq * s.T;
    const double scale = 1.0 / std::sqrt(double(s.D));
    const auto [q, k, v] = attention_input(s);
    const std::vector<float> dout = randn(nq);
    DeviceBuffer dq_in = upload(be(), q), dk_in = upload(be(), k), dv_in = upload(be(), v);
    // The backward reads the out and lse of the backend's own forward (ForwardMatchesReference).
    DeviceBuffer out = poisoned(be(), nq), lse = poisoned(be(), nl);
    be().attention_forward(out.as(), lse.as(), dq_in.as(), dk_in.as(), dv_in.as(), nullptr, s.B,
                           s.T, s.Hq, s.Hkv, s.D, float(scale));

    DeviceBuffer ddout = upload(be(), dout);
    DeviceBuffer dq = poisoned(be(), nq), dk = poisoned(be(), nk), dv = poisoned(be(), nk);
    be().attention_backward(dq.as(), dk.as(), dv.as(), ddout.as(), dq_in.as(), dk_in.as(),
                            dv_in.as(), nullptr, out.as(), lse.as(), s.B, s.T, s.Hq, s.Hkv, s.D,
                            float(scale));
    std::vector<double> rdq, rdk, rdv;
    ref::attention_backward(rdq, rdk, rdv, to_d(dout), to_d(q), to_d(k), to_d(v), {}, s.B, s.T,
                            s.Hq, s.Hkv, s.D, scale);
    expect_close(download(be(), dq, nq), rdq, kAttention, "attention dq " + str(s));
    expect_close(download(be(), dk, nk), rdk, kAttention, "attention dk " + str(s));
    expect_close(download(be(), dv, nk), rdv, kAttention, "attention dv " + str(s));
  }
}

// Packed rows: documents of random lengths (1 to 80 tokens, so some straddle the 32- and 64-key
// tiles and blocks, some are single tokens) laid end to end; pos counts within each document.
std::vector<int32_t> packed_positions(int B, int T, uint64_t seed) {
  std::vector<int32_t> pos(size_t(B) * T);
  uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  for (int b = 0; b < B; ++b) {
    int left = 0, p = 0;
    for (int t = 0; t < T; ++t) {
      if (left == 0) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        left = 1 + int(x % 80), p = 0;
      }
      pos[size_t(b) * T + t] = p++;
      --left;
    }
  }
  return pos;
}

TEST_P(AttentionTest, PackedDocumentsMatchReference) {
  for (const Shape& s : {Shape{2, 130, 4, 2, 64}, Shape{1, 200, 2, 1, 32}, Shape{3, 67, 8, 4, 16},
                         Shape{1, 1, 2, 1, 16}}) {
    const size_t nq = size_t(s.B) * s.T * s.Hq * s.D, nk = size_t(s.B) * s.T * s.Hkv * s.D;
    const size_t nl = size_t(s.B) * s.Hq * s.T;
    const double scale = 1.0 / std::sqrt(double(s.D));
    const auto [q, k, v] = attention_input(s);
    const std::vector<int32_t> pos = packed_positions(s.B, s.T, uint64_t(s.T));
    DeviceBuffer dq_in = upload(be(), q), dk_in = upload(be(), k), dv_in = upload(be(), v);
    DeviceBuffer dpos = upload(be(), pos);
    DeviceBuffer out = poisoned(be(), nq), lse = poisoned(be(), nl);
    be().attention_forward(out.as(), lse.as(), dq_in.as(), dk_in.as(), dv_in.as(),
                           dpos.as<int32_t>(), s.B, s.T, s.Hq, s.Hkv, s.D, float(scale));
    std::vector<double> rout, rlse;
    ref::attention_forward(rout, rlse, to_d(q), to_d(k), to_d(v), pos, s.B, s.T, s.Hq, s.Hkv, s.D,
                           scale);
    expect_close(download(be(), out, nq), rout, kAttention, "packed attention out " + str(s));
    expect_close(download(be(), lse, nl), rlse, kLse, "packed attention lse " + str(s));
    if (!be().supports(Op::AttentionBackward)) continue;
    const std::vector<float> dout = randn(nq);
    DeviceBuffer ddout = upload(be(), dout);
    DeviceBuffer dq = poisoned(be(), nq), dk = poisoned(be(), nk), dv = poisoned(be(), nk);
    be().attention_backward(dq.as(), dk.as(), dv.as(), ddout.as(), dq_in.as(), dk_in.as(),
                            dv_in.as(), dpos.as<int32_t>(), out.as(), lse.as(), s.B, s.T, s.Hq,
                            s.Hkv, s.D, float(scale));
    std::vector<double> rdq, rdk, rdv;
    ref::attention_backward(rdq, rdk, rdv, to_d(dout), to_d(q), to_d(k), to_d(v), pos, s.B, s.T,
                            s.Hq, s.Hkv, s.D, scale);
    expect_close(download(be(), dq, nq), rdq, kAttention, "packed attention dq " + str(s));
    expect_close(download(be(), dk, nk), rdk, kAttention, "packed attention dk " + str(s));
    expect_close(download(be(), dv, nk), rdv, kAttention, "packed attention dv " + str(s));
  }
}

// pos = 0, 1, 2, ... is one document per row: the very bits of the unpacked call.
TEST_P(AttentionTest, OneDocumentPerRowIsTheUnpackedCall) {
  const Shape s{2, 97, 4, 2, 32};
  const size_t nq = size_t(s.B) * s.T * s.Hq * s.D, nk = size_t(s.B) * s.T * s.Hkv * s.D;
  const size_t nl = size_t(s.B) * s.Hq * s.T;
  const auto [q, k, v] = attention_input(s);
  std::vector<int32_t> pos(size_t(s.B) * s.T);
  for (size_t i = 0; i < pos.size(); ++i) pos[i] = int32_t(i % s.T);
  DeviceBuffer dq_in = upload(be(), q), dk_in = upload(be(), k), dv_in = upload(be(), v);
  DeviceBuffer dpos = upload(be(), pos), dout = upload(be(), randn(nq));
  std::vector<std::vector<float>> results[2];
  for (int packed = 0; packed < 2; ++packed) {
    const int32_t* p = packed ? dpos.as<int32_t>() : nullptr;
    DeviceBuffer out = poisoned(be(), nq), lse = poisoned(be(), nl);
    be().attention_forward(out.as(), lse.as(), dq_in.as(), dk_in.as(), dv_in.as(), p, s.B, s.T,
                           s.Hq, s.Hkv, s.D, 0.17f);
    results[packed] = {download(be(), out, nq), download(be(), lse, nl)};
    if (!be().supports(Op::AttentionBackward)) continue;
    DeviceBuffer dq = poisoned(be(), nq), dk = poisoned(be(), nk), dv = poisoned(be(), nk);
    be().attention_backward(dq.as(), dk.as(), dv.as(), dout.as(), dq_in.as(), dk_in.as(),
                            dv_in.as(), p, out.as(), lse.as(), s.B, s.T, s.Hq, s.Hkv, s.D, 0.17f);
    for (const DeviceBuffer* g : {&dq, &dk, &dv})
      results[packed].push_back(download(be(), *g, g == &dq ? nq : nk));
  }
  for (size_t i = 0; i < results[0].size(); ++i)
    EXPECT_TRUE(same_bits(results[0][i], results[1][i])) << "output " << i;
}

TEST_P(AttentionTest, DecodeMatchesReferenceAndIgnoresCacheBeyondLength) {
  for (auto [Hq, Hkv, D] : {std::tuple{1, 1, 16}, {4, 2, 32}, {8, 2, 64}, {4, 4, 128}}) {
    const int B = 3, max_T = 70;
    const std::vector<int32_t> lens = {1, 70, 33};
    const size_t nc = size_t(B) * max_T * Hkv * D;
    std::vector<float> q = randn(size_t(B) * Hq * D, 2.0f), kc = randn(nc), vc = randn(nc);
    // Cache slots at or beyond lens[b] hold NaN: reading them would poison the result.
    for (int b = 0; b < B; ++b)
      for (size_t i = size_t(b * max_T + lens[b]) * Hkv * D; i < size_t(b + 1) * max_T * Hkv * D;
           ++i)
        kc[i] = vc[i] = NAN;
    const double scale = 1.0 / std::sqrt(double(D));
    DeviceBuffer dq = upload(be(), q), dk = upload(be(), kc), dv = upload(be(), vc);
    DeviceBuffer dl = upload(be(), lens), out = poisoned(be(), q.size());
    be().attention_decode(out.as(), dq.as(), dk.as(), dv.as(), nullptr, dl.as<int32_t>(), B, B,
                          max_T, Hq, Hkv, D, float(scale));
    expect_close(
        download(be(), out, q.size()),
        ref::attention_decode(to_d(q), to_d(kc), to_d(vc), {}, lens, B, max_T, Hq, Hkv, D, scale),
        kAttention, fmt::format("attention_decode Hq={} Hkv={} D={}", Hq, Hkv, D));
  }
}

// Decoding the last token against a cache of the sequence gives the forward's last row. On the
// CPU backend the two share their per-row arithmetic, so they agree bit for bit: a rollout and a
// trainer see the same numbers.
TEST_P(AttentionTest, DecodeEqualsLastRowOfForward) {
  for (const Shape& s : {Shape{2, 1, 2, 1, 16}, Shape{2, 67, 4, 2, 64}, Shape{1, 130, 2, 2, 128}}) {
    const size_t nq = size_t(s.B) * s.T * s.Hq * s.D, nk = size_t(s.B) * s.T * s.Hkv * s.D;
    const float scale = 1.0f / std::sqrt(float(s.D));
    const std::vector<float> q = randn(nq, 2.0f), k = randn(nk), v = randn(nk);
    DeviceBuffer dq = upload(be(), q), dk = upload(be(), k), dv = upload(be(), v);
    DeviceBuffer out = poisoned(be(), nq), lse = poisoned(be(), size_t(s.B) * s.Hq * s.T);
    be().attention_forward(out.as(), lse.as(), dq.as(), dk.as(), dv.as(), nullptr, s.B, s.T, s.Hq,
                           s.Hkv, s.D, scale);
    const std::vector<float> full = download(be(), out, nq);
    std::vector<float> q_last, want;
    const size_t row = size_t(s.Hq) * s.D;
    for (int b = 0; b < s.B; ++b) {
      const size_t at = (size_t(b) * s.T + s.T - 1) * row;
      q_last.insert(q_last.end(), q.begin() + at, q.begin() + at + row);
      want.insert(want.end(), full.begin() + at, full.begin() + at + row);
    }
    DeviceBuffer dql = upload(be(), q_last), dlens = upload(be(), std::vector<int32_t>(s.B, s.T));
    DeviceBuffer dec = poisoned(be(), q_last.size());
    be().attention_decode(dec.as(), dql.as(), dk.as(), dv.as(), nullptr, dlens.as<int32_t>(), s.B,
                          s.B, s.T, s.Hq, s.Hkv, s.D, scale);
    const std::vector<float> got = download(be(), dec, q_last.size());
    expect_close(got, to_d(want), kAttention, "decode vs forward " + str(s));
    if (be().name() == "cpu") {  // with or without batch-invariant mode
      EXPECT_TRUE(same_bits(got, want)) << "decode vs forward " << str(s);
    }
  }
}

// A prompt prefilled through the cache, whole or in chunks (rows of one slot with lens
// start+1 .. start+n), gives the causal forward's rows; other slots' caches are not read. On the
// CPU backend the bits are the forward's, whatever the chunking.
TEST_P(AttentionTest, CachedRowsOfOneSlotAreCausalAttention) {
  for (const Shape& s : {Shape{1, 5, 2, 1, 16}, Shape{1, 70, 4, 2, 64}, Shape{1, 131, 2, 2, 32}}) {
    const int slots = 3, target = 1, T = s.T;
    const size_t row_q = size_t(s.Hq) * s.D, row_k = size_t(s.Hkv) * s.D;
    const float scale = 1.0f / std::sqrt(float(s.D));
    const std::vector<float> q = randn(T * row_q, 2.0f), k = randn(T * row_k), v = randn(T * row_k);
    DeviceBuffer dq = upload(be(), q), dk = upload(be(), k), dv = upload(be(), v);
    DeviceBuffer out = poisoned(be(), q.size()), lse = poisoned(be(), size_t(s.Hq) * T);
    be().attention_forward(out.as(), lse.as(), dq.as(), dk.as(), dv.as(), nullptr, 1, T, s.Hq,
                           s.Hkv, s.D, scale);
    const std::vector<float> want = download(be(), out, q.size());
    // The cache: the sequence in slot 1, NaN in the others.
    std::vector<float> kc(slots * T * row_k, NAN), vc(slots * T * row_k, NAN);
    std::copy(k.begin(), k.end(), kc.begin() + target * T * row_k);
    std::copy(v.begin(), v.end(), vc.begin() + target * T * row_k);
    DeviceBuffer dkc = upload(be(), kc), dvc = upload(be(), vc);
    for (int chunk : {T, 32, 7}) {
      std::vector<float> got;
      for (int start = 0; start < T; start += chunk) {
        const int n = std::min(chunk, T - start);
        std::vector<int32_t> slot(n, target), lens(n);
        for (int i = 0; i < n; ++i) lens[i] = start + i + 1;
        DeviceBuffer dslot = upload(be(), slot), dlens = upload(be(), lens);
        DeviceBuffer dqc = upload(be(), std::vector<float>(q.begin() + start * row_q,
                                                           q.begin() + (start + n) * row_q));
        DeviceBuffer o = poisoned(be(), n * row_q);
        be().attention_decode(o.as(), dqc.as(), dkc.as(), dvc.as(), dslot.as<int32_t>(),
                              dlens.as<int32_t>(), n, slots, T, s.Hq, s.Hkv, s.D, scale);
        const std::vector<float> part = download(be(), o, n * row_q);
        got.insert(got.end(), part.begin(), part.end());
      }
      const std::string what = fmt::format("chunks of {} {}", chunk, str(s));
      expect_close(got, to_d(want), kAttention, what);
      if (be().name() == "cpu") {  // with or without batch-invariant mode
        EXPECT_TRUE(same_bits(got, want)) << what;
      }
    }
  }
}

TEST_P(AttentionTest, BadArgumentsThrowWithOpName) {
  DeviceBuffer a(be(), 4096);
  if (be().name() == "cpu") {  // the CPU backend checks pos; the CUDA one trusts its caller
    DeviceBuffer bad = upload(be(), std::vector<int32_t>{0, 1, 0, 2});  // 2 after 0: not a count
    expect_op_error("attention_forward", [&] {
      be().attention_forward(a.as(), a.as(), a.as(), a.as(), a.as(), bad.as<int32_t>(), 1, 4, 1, 1,
                             16, 1.0f);
    });
  }
  expect_op_error("attention_forward", [&] {
    be().attention_forward(a.as(), a.as(), a.as(), a.as(), a.as(), nullptr, 1, 2, 3, 2, 16, 1.0f);
  });
  DeviceBuffer lens = upload(be(), std::vector<int32_t>{9}), ok = upload(be(), std::vector<int32_t>{4});
  expect_op_error("attention_decode", [&] {
    be().attention_decode(a.as(), a.as(), a.as(), a.as(), nullptr, lens.as<int32_t>(), 1, 1, 8, 2,
                          2, 16, 1.0f);
  });
  DeviceBuffer slot = upload(be(), std::vector<int32_t>{3});
  expect_op_error("attention_decode", [&] {  // slot 3 of 2
    be().attention_decode(a.as(), a.as(), a.as(), a.as(), slot.as<int32_t>(), ok.as<int32_t>(), 1,
                          2, 8, 2, 2, 16, 1.0f);
  });
}

}  // namespace
}  // namespace tandem::test
