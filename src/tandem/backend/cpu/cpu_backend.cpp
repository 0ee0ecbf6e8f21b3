// CPU backend: construction, thread setup and the memory entry points.
#include "tandem/backend/cpu/cpu_backend.h"

#include <omp.h>

#include <cstdlib>
#include <cstring>

#include "tandem/backend/cpu/threads.h"
#include "tandem/backend/factories.h"
#include "tandem/core/error.h"

namespace tandem {

namespace {
constexpr size_t kAlign = 64;
// Below this many bytes a parallel region costs more than the copy it splits.
constexpr size_t kParallelCopyBytes = size_t(1) << 20;

void parallel_copy(void* dst, const void* src, size_t bytes) {
  if (bytes == 0 || dst == src) return;
  if (bytes < kParallelCopyBytes) {
    std::memcpy(dst, src, bytes);
    return;
  }
  const int chunks = omp_get_max_threads();
  const size_t per = (bytes / chunks + kAlign - 1) / kAlign * kAlign;
#pragma omp parallel for schedule(static)
  for (int c = 0; c < chunks; ++c) {
    const size_t begin = size_t(c) * per;
    if (begin >= bytes) continue;
    const size_t len = std::min(per, bytes - begin);
    std::memcpy(static_cast<char*>(dst) + begin, static_cast<const char*>(src) + begin, len);
  }
}
}  // namespace

CpuBackend::CpuBackend() {
  cpu::init_threads();
}

void* CpuBackend::alloc(size_t bytes) {
  if (bytes == 0) return nullptr;
  const size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
  void* p = std::aligned_alloc(kAlign, rounded);
  if (!p) fail("[alloc] out of host memory allocating {} bytes", bytes);
  // Zeroing in parallel also first-touches the pages from the threads that will use them.
  const size_t n = rounded / sizeof(float);
  float* f = static_cast<float*>(p);
#pragma omp parallel for schedule(static) if (rounded >= kParallelCopyBytes)
  for (size_t i = 0; i < n; ++i) f[i] = 0.0f;
  return p;
}

void CpuBackend::release(void* ptr) {
  std::free(ptr);
}

void CpuBackend::to_device(void* dst, const void* host_src, size_t bytes) {
  parallel_copy(dst, host_src, bytes);
}
void CpuBackend::to_host(void* host_dst, const void* src, size_t bytes) {
  parallel_copy(host_dst, src, bytes);
}
void CpuBackend::copy(void* dst, const void* src, size_t bytes) {
  parallel_copy(dst, src, bytes);
}

// OpenMP's thread count is per calling thread: this sets it for the thread that calls the
// kernels (a server's engine thread), not for the process.
void CpuBackend::set_threads(int threads) {
  omp_set_num_threads(threads > 0 ? threads : cpu::num_threads());
}

int CpuBackend::threads() const {
  return omp_get_max_threads();
}

void CpuBackend::fill(float* x, float value, size_t n) {
#pragma omp parallel for schedule(static) if (n >= kParallelCopyBytes / sizeof(float))
  for (size_t i = 0; i < n; ++i) x[i] = value;
}

std::unique_ptr<Backend> make_cpu_backend() {
  return std::make_unique<CpuBackend>();
}

}  // namespace tandem
