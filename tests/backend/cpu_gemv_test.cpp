// The CPU backend's one-row product (src/tandem/backend/cpu/gemv.h): every output is one chain of
// fused multiply-adds in increasing k, then fma(sum, alpha, beta * y), whatever N, K, the row's
// place, the padding of W or the thread count. The oracle below is that chain written plainly;
// dense_test.cpp checks the same products against the float64 reference on every backend.
#include <omp.h>

#include "backend_test_util.h"

namespace tandem::test {
namespace {

std::vector<float> chain_oracle(int N, int K, float alpha, const std::vector<float>& x,
                                const std::vector<float>& W, int ldw, float beta,
                                const std::vector<float>& y0) {
  std::vector<float> y(N);
  for (int j = 0; j < N; ++j) {
    float sum = 0.0f;
    for (int k = 0; k < K; ++k) sum = std::fma(W[size_t(j) * ldw + k], x[k], sum);
    y[j] = std::fma(sum, alpha, beta == 0.0f ? 0.0f : beta * y0[j]);
  }
  return y;
}

std::vector<float> cpu_gemv(Backend& be, int N, int K, float alpha, const std::vector<float>& x,
                            const std::vector<float>& W, int ldw, float beta,
                            const std::vector<float>& y0) {
  DeviceBuffer dx = upload(be, x), dW = upload(be, W), dy = upload(be, y0);
  be.gemm(false, true, 1, N, K, alpha, dx.as(), K, dW.as(), ldw, beta, dy.as(), N);
  return download(be, dy, N);
}

TEST(CpuGemvTest, EveryOutputIsOneFmaChain) {
  const auto be = make_backend("cpu");
  // N and K around the 8-row groups, the 16-row steps and the 64-row tasks; K past OpenBLAS's
  // K blocks (where its sgemm would round differently).
  for (int N : {1, 7, 8, 15, 16, 17, 63, 64, 65, 129, 1000})
    for (int K : {1, 5, 8, 9, 31, 128, 384, 517, 1536})
      for (const auto& [alpha, beta] : {std::pair{1.0f, 0.0f}, {1.0f, 1.0f}, {0.75f, -1.5f}}) {
        const int ldw = K + (N % 3);
        const std::vector<float> x = randn(K), W = randn(size_t(N) * ldw), y0 = randn(N);
        const std::vector<float> got = cpu_gemv(*be, N, K, alpha, x, W, ldw, beta, y0);
        EXPECT_TRUE(same_bits(got, chain_oracle(N, K, alpha, x, W, ldw, beta, y0)))
            << "N=" << N << " K=" << K << " alpha=" << alpha << " beta=" << beta;
      }
}

TEST(CpuGemvTest, BetaZeroDoesNotReadY) {
  const auto be = make_backend("cpu");
  const int N = 40, K = 24;
  const std::vector<float> x = randn(K), W = randn(size_t(N) * K);
  const std::vector<float> nan(N, std::numeric_limits<float>::quiet_NaN());
  EXPECT_TRUE(same_bits(cpu_gemv(*be, N, K, 1.0f, x, W, K, 0.0f, nan),
                        chain_oracle(N, K, 1.0f, x, W, K, 0.0f, nan)));
}

TEST(CpuGemvTest, SameBitsOnAnyThreadCount) {
  const auto be = make_backend("cpu");
  const int N = 1000, K = 512;  // large enough to be split over threads
  const std::vector<float> x = randn(K), W = randn(size_t(N) * K), y0 = randn(N);
  const int saved = omp_get_max_threads();
  std::vector<std::vector<float>> runs;
  for (int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
    runs.push_back(cpu_gemv(*be, N, K, 1.0f, x, W, K, 1.0f, y0));
  }
  omp_set_num_threads(saved);
  EXPECT_TRUE(same_bits(runs[0], runs[1]));
  EXPECT_TRUE(same_bits(runs[0], runs[2]));
}

}  // namespace
}  // namespace tandem::test
