#pragma once
// Thread setup shared by the CPU kernels: OpenMP runs the row kernels, OpenBLAS (its own pthread
// pool) runs GEMM. See init_threads() in threads.cpp for why and how the two are kept apart.
namespace tandem::cpu {

// Idempotent; called by the CpuBackend constructor before any parallel region.
void init_threads();

// Sets OpenBLAS's thread count only when it changes (the call is not free).
void set_blas_threads(int n);

// Thread count the kernels use (OpenMP's max threads at init).
int num_threads();

}  // namespace tandem::cpu
