#include "tandem/backend/cpu/threads.h"

#include "tandem/backend/backend.h"

#include <cblas.h>
#include <omp.h>

#include <atomic>
#include <mutex>

namespace tandem::cpu {

namespace {
std::once_flag g_once;
int g_threads = 1;
std::atomic<int> g_blas_threads{-1};
}  // namespace

void init_threads() {
  std::call_once(g_once, [] {
    g_threads = omp_get_max_threads();
    // GEMM runs single-threaded OpenBLAS inside OpenMP regions (see gemm.cpp).
    set_blas_threads(1);
  });
}

void set_blas_threads(int n) {
  if (g_blas_threads.exchange(n) != n) openblas_set_num_threads(n);
}

int num_threads() {
  return g_threads;
}

}  // namespace tandem::cpu

namespace tandem {

void set_cpu_threads(int threads) {
  omp_set_num_threads(threads);
  cpu::g_threads = threads;
}

}  // namespace tandem
