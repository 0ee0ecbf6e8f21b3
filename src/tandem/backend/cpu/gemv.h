#pragma once
// The CPU backend's one-row product y = alpha * x W^T + beta * y (Backend::gemm with M = 1, A not
// transposed, B transposed: every forward projection of a single token). OpenBLAS's sgemm packs
// W before multiplying even when A is one row, which halves the speed of decoding one sequence
// (6.5 GB/s of weights read against 12 GB/s for a plain pass over them, AMD Zen 3); this reads
// each row of W once, straight from where it lies.
//
// Each y[j] is one chain of correctly rounded fused multiply-adds over k = 0, 1, ..., K-1 starting
// from 0, then y[j] = fma(sum, alpha, beta == 0 ? 0 : beta * y[j]) (y is not read when beta == 0).
// That is OpenBLAS's own order while K fits in one of its K blocks (it does at K = 128, the demo's
// vocabulary head after a prompt, so the demo keeps its bits; on AMD Zen, K = 384 is already cut
// into two halves), beyond which the two differ in the last bits.
#include <cstdint>

namespace tandem::cpu {

// W: N rows of K floats, row j at W + j * ldw. Already checked by the caller (gemm.cpp).
void gemv_rows(int N, int K, float alpha, const float* x, const float* W, int64_t ldw, float beta,
               float* y);

}  // namespace tandem::cpu
