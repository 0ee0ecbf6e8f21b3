// Quick checks of the CUDA backend that the cross-backend conformance suite (tests/backend/) does
// not make: the no-GPU path, bit-reproducibility, decode == forward bits, error messages. Every
// kernel's numbers are checked against the reference by the conformance suite, which runs the
// "cuda" backend automatically whenever available_backends() lists it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tandem/backend/backend.h"
#include "tandem/backend/factories.h"
#include "tandem/core/error.h"
#ifdef TANDEM_TEST_CUBLAS_LOADER
#include "tandem/backend/cuda/cublas_api.h"
#endif

namespace tandem {
namespace {

#define SKIP_WITHOUT_GPU() \
  if (!cuda_backend_available()) GTEST_SKIP() << "no CUDA device: skipped"

std::vector<float> random_vector(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

struct Device {
  std::unique_ptr<Backend> be = make_backend("cuda");
  DeviceBuffer upload(const void* data, size_t bytes) {
    DeviceBuffer buf(*be, bytes);
    be->to_device(buf.as<void>(), data, bytes);
    return buf;
  }
  template <typename T>
  DeviceBuffer upload(const std::vector<T>& v) {
    return upload(v.data(), v.size() * sizeof(T));
  }
  std::vector<float> download(const DeviceBuffer& buf, size_t n) {
    std::vector<float> v(n);
    be->to_host(v.data(), buf.as<void>(), n * sizeof(float));
    return v;
  }
};

// The suite is named "cuda" (lowercase) so `ctest -R cuda` selects exactly these tests.

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(cuda, ListedOnlyWhenAvailable) {
  const auto names = available_backends();
  const bool listed = std::find(names.begin(), names.end(), "cuda") != names.end();
  EXPECT_EQ(listed, cuda_backend_available());
}

TEST(cuda, NoDeviceGivesAClearError) {
  if (cuda_backend_available()) GTEST_SKIP() << "a CUDA device is present: nothing to check";
  try {
    make_backend("cuda");
    FAIL() << "make_backend(\"cuda\") should throw without a device";
  } catch (const Error& e) {
    const std::string what = e.what();
    // Either this build has no CUDA (the stub) or it has and finds no device.
    EXPECT_TRUE(what.find("no CUDA device") != std::string::npos ||
                what.find("not built") != std::string::npos)
        << what;
  }
}

// cuBLAS is opened when a CUDA backend is made, not when the process starts: mapping it costs
// ~200 MB of RSS (libcublasLt's static initialisers), which CPU-only runs must not pay. Each test
// runs in its own process (gtest_discover_tests), so nothing has made a backend yet.
TEST(cuda, CublasNotLoadedAtStart) {
  std::ifstream maps("/proc/self/maps");
  ASSERT_TRUE(maps) << "cannot read /proc/self/maps";
  std::string line;
  while (std::getline(maps, line)) EXPECT_EQ(line.find("libcublas"), std::string::npos) << line;
}

#ifdef TANDEM_TEST_CUBLAS_LOADER
TEST(cuda, CublasLoadsOnDemand) {  // needs the library, not a device
  const cuda::CublasApi& api = cuda::cublas();
  EXPECT_STREQ(api.status_name(CUBLAS_STATUS_NOT_INITIALIZED), "CUBLAS_STATUS_NOT_INITIALIZED");
  EXPECT_NE(api.create, nullptr);
  EXPECT_NE(api.sgemm_strided_batched, nullptr);
  EXPECT_EQ(&cuda::cublas(), &api);  // opened once
}
#endif

TEST(cuda, MemoryRoundTripFillAdd) {
  SKIP_WITHOUT_GPU();
  Device d;
  const size_t n = 1000003;  // odd size: exercises the grid-stride tails
  DeviceBuffer zero(*d.be, n * sizeof(float));
  const auto z = d.download(zero, n);
  EXPECT_TRUE(std::all_of(z.begin(), z.end(), [](float x) { return x == 0.f; }));
  const auto x = random_vector(n, 1);
  auto buf = d.upload(x);
  EXPECT_TRUE(same_bits(d.download(buf, n), x));
  DeviceBuffer y(*d.be, n * sizeof(float));
  d.be->fill(y.as(), 2.5f, n);
  d.be->add(y.as(), buf.as(), n);
  const auto got = d.download(y, n);
  for (size_t i = 0; i < n; i += 9973) EXPECT_EQ(got[i], 2.5f + x[i]) << i;
  DeviceBuffer c(*d.be, n * sizeof(float));
  d.be->copy(c.as(), buf.as(), n * sizeof(float));
  EXPECT_TRUE(same_bits(d.download(c, n), x));
}

// Row-major mapping onto column-major cuBLAS, all four transpose cases, batched, with padded
// leading dimensions; against plain double loops.
TEST(cuda, GemmRowMajorAllTransposes) {
  SKIP_WITHOUT_GPU();
  Device d;
  const int M = 37, N = 29, K = 43, batch = 3, pad = 5;
  for (bool tA : {false, true})
    for (bool tB : {false, true}) {
      const int a_rows = tA ? K : M, a_cols = tA ? M : K, lda = a_cols + pad;
      const int b_rows = tB ? N : K, b_cols = tB ? K : N, ldb = b_cols + pad;
      const int ldc = N + pad;
      const int64_t sA = int64_t(a_rows) * lda, sB = int64_t(b_rows) * ldb, sC = int64_t(M) * ldc;
      const auto A = random_vector(sA * batch, 2), B = random_vector(sB * batch, 3);
      auto C0 = random_vector(sC * batch, 4);
      auto dA = d.upload(A), dB = d.upload(B), dC = d.upload(C0);
      const float alpha = 0.75f, beta = 0.5f;
      d.be->gemm(tA, tB, M, N, K, alpha, dA.as(), lda, dB.as(), ldb, beta, dC.as(), ldc, batch, sA,
                 sB, sC);
      const auto C = d.download(dC, sC * batch);
      double worst = 0;
      for (int b = 0; b < batch; ++b)
        for (int i = 0; i < M; ++i)
          for (int j = 0; j < N; ++j) {
            double acc = 0;
            for (int k = 0; k < K; ++k) {
              const double a = tA ? A[b * sA + k * lda + i] : A[b * sA + i * lda + k];
              const double bb = tB ? B[b * sB + j * ldb + k] : B[b * sB + k * ldb + j];
              acc += a * bb;
            }
            const size_t c = b * sC + i * ldc + j;
            worst = std::max(worst, std::abs(alpha * acc + beta * C0[c] - C[c]));
          }
      EXPECT_LT(worst, 1e-4) << "tA=" << tA << " tB=" << tB;
    }
}

// The same inputs give the same bits, including the sort-based embedding backward with many
// repeated ids and the chunked RMSNorm weight gradient.
TEST(cuda, BackwardsAreBitReproducible) {
  SKIP_WITHOUT_GPU();
  Device d;
  const int n = 3001, C = 197, V = 50;
  std::vector<int32_t> ids(n);
  for (int i = 0; i < n; ++i) ids[i] = (i * 7919) % V;
  const auto dout = random_vector(size_t(n) * C, 5);
  auto dids = d.upload(ids), ddout = d.upload(dout);
  std::vector<std::vector<float>> runs;
  for (int r = 0; r < 2; ++r) {
    DeviceBuffer dtable(*d.be, size_t(V) * C * sizeof(float));
    d.be->fill(dtable.as(), 1.f, size_t(V) * C);  // accumulates onto what is there
    d.be->embedding_backward(dtable.as(), ddout.as(), dids.as<int32_t>(), n, C);
    runs.push_back(d.download(dtable, size_t(V) * C));
  }
  EXPECT_TRUE(same_bits(runs[0], runs[1]));
  // Against a host sum in row order (the order the kernel uses), so equal bits are expected.
  std::vector<float> ref(size_t(V) * C, 1.f);
  for (int i = 0; i < n; ++i)
    for (int c = 0; c < C; ++c) ref[size_t(ids[i]) * C + c] += dout[size_t(i) * C + c];
  EXPECT_TRUE(same_bits(runs[0], ref));

  const auto x = random_vector(size_t(n) * C, 6), w = random_vector(C, 7);
  auto dx_in = d.upload(x), dw_in = d.upload(w);
  DeviceBuffer out(*d.be, size_t(n) * C * 4), rstd(*d.be, size_t(n) * 4);
  d.be->rmsnorm_forward(out.as(), rstd.as(), dx_in.as(), dw_in.as(), n, C, 1e-6f);
  std::vector<std::vector<float>> dws;
  for (int r = 0; r < 2; ++r) {
    DeviceBuffer dx(*d.be, size_t(n) * C * 4), dw(*d.be, size_t(C) * 4);
    d.be->rmsnorm_backward(dx.as(), dw.as(), ddout.as(), dx_in.as(), dw_in.as(), rstd.as(), n, C);
    dws.push_back(d.download(dw, C));
  }
  EXPECT_TRUE(same_bits(dws[0], dws[1]));
}

// attention_decode runs the forward's per-row routine: one decode step over a cache holding
// positions [0, t] must give the bits of the forward's row t.
TEST(cuda, DecodeMatchesForwardBits) {
  SKIP_WITHOUT_GPU();
  Device d;
  const int B = 2, T = 77, Hq = 8, Hkv = 2, D = 64;
  const float scale = 1.f / std::sqrt(float(D));
  const size_t nq = size_t(B) * T * Hq * D, nkv = size_t(B) * T * Hkv * D;
  const auto q = random_vector(nq, 8), k = random_vector(nkv, 9), v = random_vector(nkv, 10);
  auto dq = d.upload(q), dk = d.upload(k), dv = d.upload(v);
  DeviceBuffer out(*d.be, nq * 4), lse(*d.be, size_t(B) * Hq * T * 4);
  d.be->attention_forward(out.as(), lse.as(), dq.as(), dk.as(), dv.as(), nullptr, B, T, Hq, Hkv, D,
                          scale);
  const auto full = d.download(out, nq);
  for (int t : {0, 31, 32, T - 1}) {
    // Query of position t for each sequence: q(B,Hq,D); cache = the whole k/v with lens = t+1.
    std::vector<float> qt(size_t(B) * Hq * D), want(size_t(B) * Hq * D);
    for (int b = 0; b < B; ++b)
      for (size_t e = 0; e < size_t(Hq) * D; ++e) {
        qt[b * Hq * D + e] = q[(size_t(b) * T + t) * Hq * D + e];
        want[b * Hq * D + e] = full[(size_t(b) * T + t) * Hq * D + e];
      }
    std::vector<int32_t> lens(B, t + 1);
    auto dqt = d.upload(qt), dlens = d.upload(lens);
    DeviceBuffer o(*d.be, qt.size() * 4);
    d.be->attention_decode(o.as(), dqt.as(), dk.as(), dv.as(), nullptr, dlens.as<int32_t>(), B, B, T,
                           Hq, Hkv, D, scale);
    EXPECT_TRUE(same_bits(d.download(o, qt.size()), want)) << "position " << t;
  }
}

TEST(cuda, ReductionsAndErrors) {
  SKIP_WITHOUT_GPU();
  Device d;
  std::vector<float> x(100000, 0.5f);
  auto dx = d.upload(x);
  EXPECT_DOUBLE_EQ(d.be->sum_squares(dx.as(), x.size()), 0.25 * x.size());
  EXPECT_TRUE(d.be->all_finite(dx.as(), x.size()));
  const float nan = NAN;
  d.be->to_device(dx.as<float>() + 77777, &nan, sizeof(float));
  EXPECT_FALSE(d.be->all_finite(dx.as(), x.size()));

  // K == 0 leaves no product: C = beta * C, so beta = 0 clears even a NaN-poisoned C.
  std::vector<float> poison(12, NAN);
  auto dc = d.upload(poison);
  d.be->gemm(false, false, 3, 4, 0, 1.f, dx.as(), 1, dx.as(), 4, 0.f, dc.as(), 4);
  const auto c = d.download(dc, 12);
  EXPECT_TRUE(std::all_of(c.begin(), c.end(), [](float v) { return v == 0.f; }));

  // Unsupported shapes fail on the host with the op named, before any launch.
  try {
    d.be->attention_forward(dx.as(), dx.as(), dx.as(), dx.as(), dx.as(), nullptr, 1, 2, 1, 1, 300,
                            1.f);
    FAIL() << "D=300 should be rejected";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("attention_forward"), std::string::npos) << e.what();
  }
  // The backend still works after a rejected call.
  EXPECT_TRUE(d.be->all_finite(dx.as(), 1000));
}

}  // namespace
}  // namespace tandem
