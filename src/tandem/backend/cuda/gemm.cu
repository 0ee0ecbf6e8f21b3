// GEMM through cuBLAS. tandem is row-major, cuBLAS column-major: a row-major X(r,c) with leading
// dimension ld is, read column-major, X^T(c,r) with the same ld. So row-major C = op(A) op(B)
// is column-major C^T = op(B)^T op(A)^T: call cuBLAS with the operands swapped, M and N swapped,
// and each operand's transpose flag kept as given.
#include <string>

#include "tandem/backend/cuda/common.cuh"
#include "tandem/backend/cuda/cuda_backend.h"

namespace tandem::cuda {
namespace {

// C(M,N) *= beta for each batch, writing zeros when beta == 0 (so NaN-poisoned C is cleared),
// for the K == 0 case that cuBLAS may leave unwritten.
__global__ void scale_matrix_kernel(float* C, int M, int N, int ldc, int64_t sC, int batch,
                                    float beta) {
  for (int64_t b = blockIdx.y; b < batch; b += gridDim.y)
    for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < int64_t(M) * N;
         e += int64_t(gridDim.x) * blockDim.x) {
      float* c = C + b * sC + (e / N) * ldc + e % N;
      *c = beta == 0.f ? 0.f : *c * beta;
    }
}

}  // namespace

void CudaBackend::gemm(bool tA, bool tB, int M, int N, int K, float alpha, const float* A, int lda,
                       const float* B, int ldb, float beta, float* C, int ldc, int batch,
                       int64_t sA, int64_t sB, int64_t sC) {
  check_nonneg("gemm", "M", M);
  check_nonneg("gemm", "N", N);
  check_nonneg("gemm", "K", K);
  check_nonneg("gemm", "batch", batch);
  if (M == 0 || N == 0 || batch == 0) return;
  // Leading dimensions as the row-major caller sees them: at least the stored row length.
  const int a_cols = tA ? M : K, b_cols = tB ? K : N;
  if (lda < a_cols || ldb < b_cols || ldc < N)
    fail_arg("gemm", "leading dimension too small: lda=" + std::to_string(lda) + " (needs " +
                         std::to_string(a_cols) + "), ldb=" + std::to_string(ldb) + " (needs " +
                         std::to_string(b_cols) + "), ldc=" + std::to_string(ldc) + " (needs " +
                         std::to_string(N) + ")");
  if (K == 0) {
    dim3 grid(elementwise_blocks(size_t(M) * N, 256), batch < 65535 ? batch : 65535);
    scale_matrix_kernel<<<grid, 256, 0, stream_>>>(C, M, N, ldc, sC, batch, beta);
    TANDEM_CUDA_LAUNCH_CHECK("gemm");
    return;
  }
  const cublasOperation_t opA = tA ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t opB = tB ? CUBLAS_OP_T : CUBLAS_OP_N;
  if (batch == 1) {
    TANDEM_CUBLAS_CHECK(
        "gemm", cublas().sgemm(blas_, opB, opA, N, M, K, &alpha, B, ldb, A, lda, &beta, C, ldc));
  } else {
    TANDEM_CUBLAS_CHECK(
        "gemm", cublas().sgemm_strided_batched(blas_, opB, opA, N, M, K, &alpha, B, ldb, sB, A, lda,
                                               sA, &beta, C, ldc, sC, batch));
  }
}

}  // namespace tandem::cuda
