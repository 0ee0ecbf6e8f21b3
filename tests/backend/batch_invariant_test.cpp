// Batch-invariant mode (backend.h): with it on, GEMM is still correct for every transpose, alpha,
// beta and batch, and a row (or column) of C has the same bits whatever M (or N), wherever it
// sits and whatever the thread count. A backend without the mode says so and refuses it. The rest
// of the suite also runs with the mode on, as backend "cpu_batch_invariant" (backend_test_util.h).
#include <omp.h>

#include "backend_test_util.h"

namespace tandem::test {
namespace {

// As DenseTest's GEMM tolerance: each element is a K-term fp32 dot product (K <= 300 here).

class BatchInvariantTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (!be().supports_batch_invariant())
      GTEST_SKIP() << "backend '" << be().name() << "' has no batch-invariant mode";
    be().set_batch_invariant(true);
  }
};
TANDEM_BACKEND_SUITE(BatchInvariantTest);

// One GEMM problem in host memory: op(A)(M,K), op(B)(K,N), C(M,N) with leading dimensions larger
// than the rows they hold.
struct Problem {
  bool tA, tB;
  int M, N, K;
  int lda, ldb, ldc;
  std::vector<float> A, B, C;
};

Problem make_problem(bool tA, bool tB, int M, int N, int K, int pad = 3) {
  Problem p{tA, tB, M, N, K, (tA ? M : K) + pad, (tB ? K : N) + pad, N + pad, {}, {}, {}};
  p.A = randn(size_t(tA ? K : M) * p.lda);
  p.B = randn(size_t(tB ? N : K) * p.ldb);
  p.C = randn(size_t(M) * p.ldc);
  return p;
}

// C after the call, the whole (M, ldc) block.
std::vector<float> run(Backend& be, const Problem& p, float alpha, float beta) {
  DeviceBuffer dA = upload(be, p.A), dB = upload(be, p.B), dC = upload(be, p.C);
  be.gemm(p.tA, p.tB, p.M, p.N, p.K, alpha, dA.as(), p.lda, dB.as(), p.ldb, beta, dC.as(), p.ldc);
  return download(be, dC, p.C.size());
}

// Rows [r, r + m) of op(A) as a problem of its own (same leading dimensions, same B).
Problem rows_of(const Problem& p, int r, int m) {
  Problem q = p;
  q.M = m;
  q.A.clear();
  if (p.tA) {  // A is (K, lda): op(A) rows are columns of A; keep the same lda
    q.A.assign(size_t(p.K) * p.lda, NAN);
    for (int k = 0; k < p.K; ++k)
      for (int i = 0; i < m; ++i) q.A[size_t(k) * p.lda + i] = p.A[size_t(k) * p.lda + r + i];
  } else {
    q.A.assign(p.A.begin() + size_t(r) * p.lda, p.A.begin() + size_t(r + m) * p.lda);
  }
  q.C.assign(p.C.begin() + size_t(r) * p.ldc, p.C.begin() + size_t(r + m) * p.ldc);
  return q;
}

// Columns [c, c + n) of op(B) and C as a problem of its own.
Problem cols_of(const Problem& p, int c, int n) {
  Problem q = p;
  q.N = n;
  if (p.tB) {  // B is (N, ldb): op(B) columns are rows of B
    q.B.assign(p.B.begin() + size_t(c) * p.ldb, p.B.begin() + size_t(c + n) * p.ldb);
  } else {  // B is (K, ldb): keep ldb, move the columns to the front
    q.B.assign(p.B.size(), NAN);
    for (int k = 0; k < p.K; ++k)
      for (int j = 0; j < n; ++j) q.B[size_t(k) * p.ldb + j] = p.B[size_t(k) * p.ldb + c + j];
  }
  q.ldc = n;
  q.C.assign(size_t(p.M) * n, 0.0f);
  for (int i = 0; i < p.M; ++i)
    for (int j = 0; j < n; ++j) q.C[size_t(i) * n + j] = p.C[size_t(i) * p.ldc + c + j];
  return q;
}

std::vector<float> block(const std::vector<float>& C, int ld, int r0, int r1, int c0, int c1) {
  std::vector<float> out;
  for (int i = r0; i < r1; ++i)
    for (int j = c0; j < c1; ++j) out.push_back(C[size_t(i) * ld + j]);
  return out;
}

std::string what(const Problem& p, float alpha, float beta) {
  return fmt::format("M={} N={} K={} tA={} tB={} alpha={} beta={}", p.M, p.N, p.K, p.tA, p.tB,
                     alpha, beta);
}

TEST_P(BatchInvariantTest, ModeIsReported) {
  EXPECT_TRUE(be().batch_invariant());
  be().set_batch_invariant(false);
  EXPECT_FALSE(be().batch_invariant());
  be().set_batch_invariant(true);
  EXPECT_TRUE(be().batch_invariant());
}

// Against the float64 reference: every transpose, alpha != 1, beta 0 (C poisoned: not read),
// 1 and another value, batch 1 and > 1 with strides; shapes with remainders of every tile size
// and of the 8-term groups of k; the padding between rows and matrices left alone.
TEST_P(BatchInvariantTest, GemmMatchesReference) {
  const GemmCase cases[] = {{1, 1, 1, 1},       {1, 37, 64, 1},    {2, 5, 7, 1},    {3, 4, 8, 1},
                            {37, 29, 65, 1},    {64, 128, 256, 1}, {5, 7, 3, 3},    {33, 65, 17, 4},
                            {150, 140, 300, 2}, {49, 260, 9, 1},   {1, 300, 300, 2}};
  for (const GemmCase& c : cases)
    for (int t = 0; t < 4; ++t)
      for (float beta : {0.0f, 1.0f, -1.5f})
        expect_gemm_matches_reference(be(), c, t & 1, t & 2, 0.75f, beta);
}

// The core promise: row r of C computed in a call of M = 1, or of a few rows starting at r, has the
// bits it has inside M = 37, at any offset, with 1 thread or many; likewise with beta = 1 (the
// model's residual accumulation) and for every transpose.
TEST_P(BatchInvariantTest, RowBitsIndependentOfMAndThreads) {
  const int saved = omp_get_max_threads();
  for (int K : {64, 67, 300})
    for (int t = 0; t < 4; ++t)
      for (float beta : {0.0f, 1.0f}) {
        const float alpha = t == 3 ? 0.5f : 1.0f;
        const Problem p = make_problem(t & 1, t & 2, 37, 45, K);
        omp_set_num_threads(std::max(2, saved));
        const std::vector<float> whole = run(be(), p, alpha, beta);
        for (int r : {0, 1, 2, 17, 35, 36})
          for (int m : {1, 2}) {
            if (r + m > p.M) continue;
            for (int threads : {1, std::max(2, saved)}) {
              omp_set_num_threads(threads);
              const Problem q = rows_of(p, r, m);
              const std::vector<float> part = run(be(), q, alpha, beta);
              EXPECT_TRUE(same_bits(block(part, q.ldc, 0, m, 0, p.N),
                                    block(whole, p.ldc, r, r + m, 0, p.N)))
                  << what(p, alpha, beta) << ": rows [" << r << ", " << r + m << ") alone, "
                  << threads << " threads";
            }
          }
      }
  omp_set_num_threads(saved);
}

// The same for columns: column j of C does not depend on N or on the columns beside it.
TEST_P(BatchInvariantTest, ColumnBitsIndependentOfN) {
  for (int t = 0; t < 4; ++t) {
    const Problem p = make_problem(t & 1, t & 2, 11, 41, 129);
    const std::vector<float> whole = run(be(), p, 1.0f, 1.0f);
    for (int c : {0, 3, 39, 40})
      for (int n : {1, 2}) {
        if (c + n > p.N) continue;
        const Problem q = cols_of(p, c, n);
        const std::vector<float> part = run(be(), q, 1.0f, 1.0f);
        EXPECT_TRUE(same_bits(part, block(whole, p.ldc, 0, p.M, c, c + n)))
            << what(p, 1.0f, 1.0f) << ": columns [" << c << ", " << c + n << ") alone";
      }
  }
}

// A matrix of a batched call gets the bits it gets alone; the model's shapes (x @ W^T, M from 1 to
// a training batch) agree row for row.
TEST_P(BatchInvariantTest, BatchedMatrixEqualsAloneAndModelShapes) {
  const int M = 9, N = 20, K = 40, batch = 3;
  const std::vector<float> A = randn(size_t(batch) * M * K), B = randn(size_t(batch) * K * N);
  DeviceBuffer dA = upload(be(), A), dB = upload(be(), B), dC(be(), size_t(batch) * M * N * 4);
  be().gemm(false, false, M, N, K, 1.0f, dA.as(), K, dB.as(), N, 0.0f, dC.as(), N, batch,
            int64_t(M) * K, int64_t(K) * N, int64_t(M) * N);
  const std::vector<float> all = download(be(), dC, size_t(batch) * M * N);
  for (int b = 0; b < batch; ++b) {
    DeviceBuffer a1 =
        upload(be(), std::vector<float>(A.begin() + b * M * K, A.begin() + (b + 1) * M * K));
    DeviceBuffer b1 =
        upload(be(), std::vector<float>(B.begin() + b * K * N, B.begin() + (b + 1) * K * N));
    DeviceBuffer c1(be(), size_t(M) * N * 4);
    be().gemm(false, false, M, N, K, 1.0f, a1.as(), K, b1.as(), N, 0.0f, c1.as(), N);
    EXPECT_TRUE(same_bits(download(be(), c1, size_t(M) * N),
                          {all.begin() + b * M * N, all.begin() + (b + 1) * M * N}))
        << "matrix " << b;
  }
  // y(n, out) = x(n, in) @ W(out, in)^T for n = 1 (decode), 7 (slots) and 70 (a training batch).
  const int in = 96, out = 200;
  const std::vector<float> x = randn(size_t(70) * in), W = randn(size_t(out) * in);
  DeviceBuffer dx = upload(be(), x), dW = upload(be(), W), dy(be(), size_t(70) * out * 4);
  be().gemm(false, true, 70, out, in, 1.0f, dx.as(), in, dW.as(), in, 0.0f, dy.as(), out);
  const std::vector<float> big = download(be(), dy, size_t(70) * out);
  for (int n : {1, 7})
    for (int r : {0, 5, 63}) {
      DeviceBuffer y(be(), size_t(n) * out * 4);
      be().gemm(false, true, n, out, in, 1.0f, dx.as() + size_t(r) * in, in, dW.as(), in, 0.0f,
                y.as(), out);
      EXPECT_TRUE(same_bits(download(be(), y, size_t(n) * out),
                            {big.begin() + size_t(r) * out, big.begin() + size_t(r + n) * out}))
          << n << " rows from row " << r;
    }
}

// A backend without the mode (the base class's default) refuses to turn it on, naming itself.
TEST(BatchInvariant, BackendWithoutTheModeThrows) {
  ServeOnlyBackend be(make_backend("cpu"));
  EXPECT_FALSE(be.supports_batch_invariant());
  EXPECT_FALSE(be.batch_invariant());
  EXPECT_NO_THROW(be.set_batch_invariant(false));
  try {
    be.set_batch_invariant(true);
    ADD_FAILURE() << "expected tandem::Error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "[batch_invariant] backend 'serve_only' has no batch-invariant mode");
  }
  EXPECT_FALSE(be.batch_invariant());
}

TEST(BatchInvariant, CpuBackendHasTheModeOffByDefault) {
  const auto be = make_backend("cpu");
  EXPECT_TRUE(be->supports_batch_invariant());
  EXPECT_FALSE(be->batch_invariant());
}

}  // namespace
}  // namespace tandem::test
