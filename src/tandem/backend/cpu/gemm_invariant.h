#pragma once
// The CPU backend's batch-invariant GEMM (backend.h, "batch-invariant mode"): the same arguments
// and meaning as Backend::gemm, already checked by the caller (gemm.cpp). Every C[i][j] is computed
// by one fixed sequence of floating-point operations that depends on K alone: never on M, N, i, j,
// the neighbouring rows or the thread count.
#include <cstdint>

namespace tandem::cpu {

void gemm_invariant(bool tA, bool tB, int M, int N, int K, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc, int batch, int64_t sA,
                    int64_t sB, int64_t sC);

}  // namespace tandem::cpu
