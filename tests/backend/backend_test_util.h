#pragma once
// Shared helpers of the backend conformance suite: backend-parameterised fixtures, random inputs,
// device upload/download, NaN poisoning, and scale-aware comparison against the references.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "reference.h"
#include "serve_only_backend.h"
#include "tandem/backend/backend.h"
#include "tandem/core/error.h"
#include "tandem/core/rng.h"

namespace tandem::test {

// Every test of the suite runs once per backend in available_backends(): a CUDA build on a
// machine with a GPU runs the very same cases on "cuda". It also runs on "serve_only", the CPU
// backend cut down to the mandatory half (serve_only_backend.h), so that the skips of optional
// ops are exercised on every machine, not only on the day a serving-only chip arrives.
inline constexpr const char* kServeOnly = "serve_only";
// And on "cpu_batch_invariant": the CPU backend with its batch-invariant mode on (backend.h), so
// every kernel contract still holds in that mode (batch_invariant_test.cpp checks what it adds).
inline constexpr const char* kCpuBatchInvariant = "cpu_batch_invariant";

inline std::vector<std::string> suite_backends() {
  std::vector<std::string> names = available_backends();
  names.emplace_back(kServeOnly);
  names.emplace_back(kCpuBatchInvariant);
  return names;
}
inline std::unique_ptr<Backend> make_suite_backend(const std::string& name) {
  if (name == kServeOnly) return std::make_unique<ServeOnlyBackend>(make_backend("cpu"));
  if (name == kCpuBatchInvariant) {
    std::unique_ptr<Backend> be = make_backend("cpu");
    be->set_batch_invariant(true);
    return be;
  }
  return make_backend(name);
}

inline void restart_streams();

class BackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    restart_streams();
    be_ = make_suite_backend(GetParam());
  }
  Backend& be() { return *be_; }
  std::unique_ptr<Backend> be_;
};

inline std::string backend_name(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

#define TANDEM_BACKEND_SUITE(Fixture)                                             \
  INSTANTIATE_TEST_SUITE_P(Backends, Fixture,                                     \
                           ::testing::ValuesIn(::tandem::test::suite_backends()), \
                           ::tandem::test::backend_name)

// Why `be` cannot run a case that needs `ops` ("" when it can): the optional ops it lacks.
inline std::string unsupported_reason(const Backend& be, const std::vector<Op>& ops) {
  std::string why;
  for (Op op : missing_ops(be, ops)) why += std::string(why.empty() ? "" : ", ") + op_name(op);
  if (why.empty()) return why;
  return "backend '" + be.name() + "' does not implement " + why +
         " (optional, supports() is false)";
}

// In a BackendTest: skips the test, saying why, unless the backend supports every optional op
// listed. A case that checks an optional op starts with it, so an inference-only backend passes
// the suite for what it implements and reports the rest as skipped, not failed.
#define TANDEM_SKIP_UNLESS_SUPPORTED(...) \
  TANDEM_SKIP_UNLESS_SUPPORTED_ALL(std::vector<::tandem::Op>{__VA_ARGS__})
// The same for a std::vector<Op> computed by the test.
#define TANDEM_SKIP_UNLESS_SUPPORTED_ALL(ops)                                        \
  if (const std::string tandem_why_ = ::tandem::test::unsupported_reason(be(), ops); \
      !tandem_why_.empty())                                                          \
  GTEST_SKIP() << tandem_why_

// Fresh random data for each input: one fixed seed, a new Philox stream per call, so a failure
// reproduces exactly while no two inputs share values. Each test restarts the streams from a
// hash of its name, so it sees the same data run alone (ctest) or in the whole binary.
inline uint64_t& stream_counter() {
  static uint64_t stream = 1000;
  return stream;
}
inline uint64_t next_stream() {
  return stream_counter()++;
}
inline void restart_streams() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  stream_counter() =
      info ? std::hash<std::string>{}(std::string(info->test_suite_name()) + "." + info->name())
                 << 20
           : 1000;
}
constexpr uint64_t kSeed = 20240607;

inline std::vector<float> randn(size_t n, float scale = 1.0f, float shift = 0.0f) {
  const Rng rng(kSeed, next_stream());
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = rng.normal(i) * scale + shift;
  return x;
}
inline std::vector<float> randu(size_t n, float lo, float hi) {
  const Rng rng(kSeed, next_stream());
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = lo + (hi - lo) * rng.uniform(i);
  return x;
}
inline std::vector<int32_t> randint(size_t n, int lo, int hi) {  // [lo, hi)
  const Rng rng(kSeed, next_stream());
  std::vector<int32_t> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = lo + int32_t(rng.uniform(i) * float(hi - lo)) % (hi - lo);
  return x;
}
inline std::vector<double> to_d(const std::vector<float>& x) {
  return {x.begin(), x.end()};
}

template <typename T>
DeviceBuffer upload(Backend& be, const std::vector<T>& host) {
  DeviceBuffer buf(be, std::max<size_t>(1, host.size()) * sizeof(T));
  if (!host.empty()) be.to_device(buf.as<void>(), host.data(), host.size() * sizeof(T));
  return buf;
}
template <typename T = float>
std::vector<T> download(Backend& be, const DeviceBuffer& buf, size_t n) {
  std::vector<T> host(n);
  if (n) be.to_host(host.data(), buf.as<void>(), n * sizeof(T));
  return host;
}
// An output buffer filled with NaN through the backend itself: an element the kernel fails to
// write stays NaN and fails the comparison.
inline DeviceBuffer poisoned(Backend& be, size_t n) {
  DeviceBuffer buf(be, std::max<size_t>(1, n) * sizeof(float));
  be.fill(buf.as(), std::numeric_limits<float>::quiet_NaN(), std::max<size_t>(1, n));
  return buf;
}

// Tolerance of one kernel: NMSE = ||out - ref||^2 / ||ref||^2, and the largest elementwise error
// relative to the output's scale, max|out - ref| / max(1, max|ref|).
struct Tol {
  double nmse;
  double max_err;
};

struct ErrorStats {
  double nmse = 0, max_err = 0;
  size_t nonfinite = 0, worst = 0;
};

inline ErrorStats compare(const std::vector<float>& out, const std::vector<double>& ref) {
  ErrorStats st;
  double err2 = 0, ref2 = 0, ref_max = 0, max_abs = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(out[i])) {
      ++st.nonfinite;
      continue;
    }
    const double e = double(out[i]) - ref[i];
    err2 += e * e;
    ref2 += ref[i] * ref[i];
    ref_max = std::max(ref_max, std::abs(ref[i]));
    if (std::abs(e) > max_abs) max_abs = std::abs(e), st.worst = i;
  }
  // An all-zero reference (e.g. dq of a one-token sequence) has no scale: NMSE then falls back
  // to the plain squared error, judged against the same bound.
  st.nmse = ref2 > 0 ? err2 / ref2 : err2;
  st.max_err = max_abs / std::max(1.0, ref_max);
  return st;
}

// Checks sizes, that every element was written (finite) and both metrics.
inline void expect_close(const std::vector<float>& out, const std::vector<double>& ref, Tol tol,
                         const std::string& what) {
  ASSERT_EQ(out.size(), ref.size()) << what;
  const ErrorStats st = compare(out, ref);
  EXPECT_EQ(st.nonfinite, 0u) << what << ": elements not finite (unwritten or overflow)";
  EXPECT_LE(st.nmse, tol.nmse) << what;
  EXPECT_LE(st.max_err, tol.max_err) << what << ": worst element " << st.worst
                                     << " out=" << out[st.worst] << " ref=" << ref[st.worst];
}

// Same bits (NaN-aware through memcmp semantics on the values).
inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](float x, float y) {
           return std::bit_cast<uint32_t>(x) == std::bit_cast<uint32_t>(y);
         });
}

// One GEMM call against the float64 reference: op(A) @ op(B) with padded leading dimensions and
// strides between the `batch` matrices; beta = 0 poisons C (BLAS semantics: C is not read),
// beta != 0 gives it known values. Every element outside C (row and matrix padding) must keep
// its bits.
struct GemmCase {
  int M, N, K, batch;
};
inline void expect_gemm_matches_reference(Backend& be, const GemmCase& c, bool tA, bool tB,
                                          float alpha, float beta) {
  constexpr Tol kGemm{1e-10, 2e-4};
  const int pad = 3;  // leading dimensions larger than the rows they hold
  const int ar = tA ? c.K : c.M, ac = tA ? c.M : c.K;
  const int br = tB ? c.N : c.K, bc = tB ? c.K : c.N;
  const int lda = ac + pad, ldb = bc + pad, ldc = c.N + pad;
  const int64_t sA = int64_t(ar) * lda + 5, sB = int64_t(br) * ldb + 7, sC = int64_t(c.M) * ldc + 1;
  const std::vector<float> A = randn(sA * c.batch), B = randn(sB * c.batch);
  const std::vector<float> C0 =
      beta != 0.0f ? randn(sC * c.batch) : std::vector<float>(sC * c.batch, NAN);
  DeviceBuffer dA = upload(be, A), dB = upload(be, B), dC = upload(be, C0);
  be.gemm(tA, tB, c.M, c.N, c.K, alpha, dA.as(), lda, dB.as(), ldb, beta, dC.as(), ldc, c.batch,
          sA, sB, sC);
  const std::vector<float> C = download(be, dC, C0.size());
  std::vector<float> got;
  std::vector<double> want;
  for (int b = 0; b < c.batch; ++b) {
    std::vector<double> ref(size_t(c.M) * ldc);
    for (int i = 0; i < c.M; ++i)
      for (int j = 0; j < c.N; ++j)
        ref[size_t(i) * ldc + j] = beta != 0.0f ? C0[b * sC + int64_t(i) * ldc + j] : 0.0;
    ref::gemm(tA, tB, c.M, c.N, c.K, alpha, to_d({A.begin() + b * sA, A.begin() + (b + 1) * sA}),
              lda, to_d({B.begin() + b * sB, B.begin() + (b + 1) * sB}), ldb, beta, ref, ldc);
    for (int i = 0; i < c.M; ++i)
      for (int j = 0; j < c.N; ++j) {
        got.push_back(C[b * sC + int64_t(i) * ldc + j]);
        want.push_back(ref[size_t(i) * ldc + j]);
      }
    for (int64_t e = 0; e < sC; ++e) {
      const int64_t i = e / ldc, j = e % ldc;
      if (i < c.M && j < c.N) continue;
      ASSERT_TRUE(same_bits({C[b * sC + e]}, {C0[b * sC + e]})) << "gemm wrote outside C";
    }
  }
  expect_close(got, want, kGemm,
               "gemm M=" + std::to_string(c.M) + " N=" + std::to_string(c.N) + " K=" +
                   std::to_string(c.K) + " batch=" + std::to_string(c.batch) + " tA=" +
                   std::to_string(tA) + " tB=" + std::to_string(tB) + " beta=" + std::to_string(beta));
}

// Expects `fn` to throw tandem::Error whose message starts with "[op]".
template <typename Fn>
void expect_op_error(const std::string& op, Fn&& fn) {
  try {
    fn();
    ADD_FAILURE() << "[" << op << "] expected tandem::Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("[" + op + "]", 0), 0u) << e.what();
  }
}

}  // namespace tandem::test
