// Kernel lab: GEMM GFLOP/s, attention forward+backward and memory bandwidth of the CPU backend,
// the ceilings the trainer's throughput is measured against (docs/performance.md).
// Usage: bench_kernels [backend]   (default cpu)
#include <omp.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "tandem/backend/backend.h"
#include "tandem/core/rng.h"

namespace {

using tandem::Backend;
using tandem::DeviceBuffer;

double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// CPU seconds per run, over all runs: on a shared, busy machine the wall time measures the other
// tenants; CPU time measures this process (including any spin-waiting of its own threads).
double g_last_cpu = 0;

// Median wall seconds of `reps` timed runs after one warm-up; sets g_last_cpu.
double time_it(Backend& be, int reps, const std::function<void()>& fn) {
  fn();
  be.synchronize();
  std::vector<double> t;
  const double c0 = cpu_seconds();
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    be.synchronize();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  g_last_cpu = (cpu_seconds() - c0) / reps;
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

DeviceBuffer random_buffer(Backend& be, size_t n, uint64_t stream) {
  const tandem::Rng rng(1, stream);
  std::vector<float> h(n);
  for (size_t i = 0; i < n; ++i) h[i] = rng.normal(i);
  DeviceBuffer b(be, n * sizeof(float));
  be.to_device(b.as<void>(), h.data(), n * sizeof(float));
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string name = argc > 1 ? argv[1] : "cpu";
  auto be = tandem::make_backend(name);
  std::printf("backend %s, %d OpenMP threads\n\n", name.c_str(), omp_get_max_threads());

  std::printf("load average %.2f (2 cores shared: compare the per-core-s column when loaded)\n\n",
              [] {
                double l[1] = {0};
                return getloadavg(l, 1) == 1 ? l[0] : -1.0;
              }());
  std::printf("%-34s %10s %12s %14s\n", "GEMM (fp32, C = A B)", "ms", "GFLOP/s", "GFLOP/core-s");
  for (int n : {256, 512, 1024, 2048}) {
    DeviceBuffer A = random_buffer(*be, size_t(n) * n, 1), B = random_buffer(*be, size_t(n) * n, 2);
    DeviceBuffer C(*be, size_t(n) * n * 4);
    const double s = time_it(*be, n >= 1024 ? 5 : 20, [&] {
      be->gemm(false, false, n, n, n, 1.0f, A.as(), n, B.as(), n, 0.0f, C.as(), n);
    });
    std::printf("%-34s %10.3f %12.1f %14.1f\n", ("  " + std::to_string(n) + "^3").c_str(), s * 1e3,
                2.0 * n * n * n / s * 1e-9, 2.0 * n * n * n / g_last_cpu * 1e-9);
  }
  // The model's shape: (tokens, C) x (C, 3C)^T as in a QKV projection, B^T layout.
  {
    const int M = 2048, N = 3072, K = 1024;
    DeviceBuffer A = random_buffer(*be, size_t(M) * K, 3), W = random_buffer(*be, size_t(N) * K, 4);
    DeviceBuffer C(*be, size_t(M) * N * 4);
    const double s = time_it(*be, 3, [&] {
      be->gemm(false, true, M, N, K, 1.0f, A.as(), K, W.as(), K, 0.0f, C.as(), N);
    });
    std::printf("%-34s %10.3f %12.1f %14.1f\n", "  2048x3072x1024 (x W^T)", s * 1e3,
                2.0 * M * N * K / s * 1e-9, 2.0 * M * N * K / g_last_cpu * 1e-9);
  }

  // OpenMP row kernel then OpenBLAS GEMM, alternating as in a training step: if OpenMP's
  // threads kept spinning after their region they would steal the cores from OpenBLAS's pool.
  {
    const int n = 512, C = 1024;
    DeviceBuffer x = random_buffer(*be, size_t(n) * C, 11), w = random_buffer(*be, C, 12),
                 W = random_buffer(*be, size_t(C) * C, 13);
    DeviceBuffer y(*be, size_t(n) * C * 4), r(*be, n * 4), z(*be, size_t(n) * C * 4);
    const double s = time_it(*be, 20, [&] {
      for (int rep = 0; rep < 4; ++rep) {
        be->rmsnorm_forward(y.as(), r.as(), x.as(), w.as(), n, C, 1e-6f);
        be->gemm(false, true, n, C, C, 1.0f, y.as(), C, W.as(), C, 0.0f, z.as(), C);
      }
    });
    const double flops = 4.0 * 2.0 * n * C * C;
    std::printf("%-34s %10.3f %12.1f %14.1f\n", "  4x(rmsnorm + 512x1024x1024)", s * 1e3,
                flops / s * 1e-9, flops / g_last_cpu * 1e-9);
  }

  std::printf("\n%-34s %10s %10s %12s %14s\n", "attention B=4 T=512 Hq=8 D=64", "fwd ms", "bwd ms",
              "fwd+bwd GF/s", "GFLOP/core-s");
  for (int Hkv : {8, 4}) {
    const int B = 4, T = 512, Hq = 8, D = 64;
    const size_t nq = size_t(B) * T * Hq * D, nk = size_t(B) * T * Hkv * D;
    DeviceBuffer q = random_buffer(*be, nq, 5), k = random_buffer(*be, nk, 6),
                 v = random_buffer(*be, nk, 7), dout = random_buffer(*be, nq, 8);
    DeviceBuffer out(*be, nq * 4), lse(*be, size_t(B) * Hq * T * 4), dq(*be, nq * 4),
        dk(*be, nk * 4), dv(*be, nk * 4);
    const float scale = 1.0f / std::sqrt(float(D));
    const double f = time_it(*be, 5, [&] {
      be->attention_forward(out.as(), lse.as(), q.as(), k.as(), v.as(), nullptr, B, T, Hq, Hkv, D,
                            scale);
    });
    const double fc = g_last_cpu;
    const double b = time_it(*be, 5, [&] {
      be->attention_backward(dq.as(), dk.as(), dv.as(), dout.as(), q.as(), k.as(), v.as(), nullptr,
                             out.as(), lse.as(), B, T, Hq, Hkv, D, scale);
    });
    // Causal: half the T^2 score matrix. Forward 2 GEMMs (QK^T, PV), backward 5 (S, dP, dV, dK,
    // dQ).
    const double pairs = double(B) * Hq * T * (T + 1) / 2.0;
    const double flops = pairs * D * 2.0 * (2 + 5);
    std::printf("  Hkv=%-29d %10.2f %10.2f %12.1f %14.1f\n", Hkv, f * 1e3, b * 1e3,
                flops / (f + b) * 1e-9, flops / (fc + g_last_cpu) * 1e-9);
  }

  std::printf("\n%-34s %10s %12s\n", "memory (256 MiB buffers)", "ms", "GB/s");
  {
    const size_t n = size_t(64) << 20;  // floats
    DeviceBuffer a = random_buffer(*be, n, 9), b(*be, n * 4), c = random_buffer(*be, n, 10);
    const double s = time_it(*be, 5, [&] { be->copy(b.as<void>(), a.as<void>(), n * 4); });
    std::printf("%-34s %10.2f %12.1f\n", "  copy (read + write)", s * 1e3, 2.0 * n * 4 / s * 1e-9);
    const double t = time_it(*be, 5, [&] { be->add(b.as(), c.as(), n); });
    std::printf("%-34s %10.2f %12.1f\n", "  add y += x (2 reads + 1 write)", t * 1e3,
                3.0 * n * 4 / t * 1e-9);
    const double r = time_it(*be, 5, [&] { (void)be->sum_squares(a.as(), n); });
    std::printf("%-34s %10.2f %12.1f\n", "  sum_squares (read)", r * 1e3, 1.0 * n * 4 / r * 1e-9);
  }
  return 0;
}
