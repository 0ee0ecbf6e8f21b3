// What the CPU backend's batch-invariant mode (backend.h) costs: GEMM GFLOP/s of the invariant
// kernel against OpenBLAS on the model's shapes, decode tokens/s through the engine, and a
// training forward + backward step, each with the mode off and on.
// Usage: bench_invariant [gemm|decode|train|all]   (default all)
// On a shared machine compare the CPU-time columns: wall time measures the other tenants too.
#include <omp.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "tandem/backend/backend.h"
#include "tandem/core/rng.h"
#include "tandem/engine/generate.h"
#include "tandem/model/transformer.h"

using namespace tandem;

namespace {

double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}
double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Timing {
  double wall, cpu;  // seconds per run: median wall, mean CPU
};

// One warm-up, then runs until `budget` wall seconds have passed (at least `min_reps` runs).
Timing time_it(const std::function<void()>& fn, double budget = 0.6, int min_reps = 3) {
  fn();
  std::vector<double> t;
  const double c0 = cpu_seconds(), start = wall_seconds();
  while (int(t.size()) < min_reps || wall_seconds() - start < budget) {
    const double t0 = wall_seconds();
    fn();
    t.push_back(wall_seconds() - t0);
  }
  const double cpu = (cpu_seconds() - c0) / double(t.size());
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], cpu};
}

DeviceBuffer random_buffer(Backend& be, size_t n, uint64_t stream) {
  const Rng rng(1, stream);
  std::vector<float> h(n);
  for (size_t i = 0; i < n; ++i) h[i] = rng.normal(i);
  DeviceBuffer b(be, n * sizeof(float));
  be.to_device(b.as<void>(), h.data(), n * sizeof(float));
  return b;
}

void bench_gemm(Backend& be) {
  std::printf("GEMM C(M,N) = op(A)(M,K) op(B)(K,N), fp32; GFLOP/s by wall time (by CPU time)\n");
  std::printf("%-6s %-22s %22s %22s %8s\n", "op", "M x N x K", "OpenBLAS", "invariant", "ratio");
  struct Shape {
    bool tA, tB;
    int M, N, K;
  };
  std::vector<Shape> shapes;
  for (int nk : {256, 512, 1024})
    for (int M : {1, 8, 64, 512}) shapes.push_back({false, true, M, nk, nk});
  // The backward's shapes at a training batch of 512 rows: dx = dy W, dW += dy^T x.
  for (int nk : {256, 1024}) {
    shapes.push_back({false, false, 512, nk, nk});
    shapes.push_back({true, false, nk, nk, 512});
  }
  for (const Shape& s : shapes) {
    const size_t a = size_t(s.M) * s.K, b = size_t(s.K) * s.N, c = size_t(s.M) * s.N;
    DeviceBuffer A = random_buffer(be, a, 1), B = random_buffer(be, b, 2), C(be, c * 4);
    const int lda = s.tA ? s.M : s.K, ldb = s.tB ? s.K : s.N;
    const double flops = 2.0 * s.M * s.N * s.K;
    Timing t[2];
    for (int on = 0; on < 2; ++on) {
      be.set_batch_invariant(on);
      t[on] = time_it([&] {
        be.gemm(s.tA, s.tB, s.M, s.N, s.K, 1.0f, A.as(), lda, B.as(), ldb, 0.0f, C.as(), s.N);
      });
    }
    be.set_batch_invariant(false);
    char shape[64], col[2][64];
    std::snprintf(shape, sizeof shape, "%d x %d x %d", s.M, s.N, s.K);
    for (int on = 0; on < 2; ++on)
      std::snprintf(col[on], sizeof col[on], "%.1f (%.1f)", flops / t[on].wall * 1e-9,
                    flops / t[on].cpu * 1e-9);
    std::printf("%-6s %-22s %22s %22s %8.2f\n", s.tA ? "A^T B" : (s.tB ? "A B^T" : "A B"), shape,
                col[0], col[1], t[0].wall / t[1].wall);
  }
}

// A small Qwen3 shape: about 10M parameters.
ModelConfig small_model() {
  ModelConfig c;
  c.vocab_size = 4096, c.hidden_size = 256, c.num_hidden_layers = 6;
  c.num_attention_heads = 4, c.num_key_value_heads = 2, c.head_dim = 64;
  c.intermediate_size = 768, c.max_position_embeddings = 256;
  return c;
}

void bench_decode(Backend& be) {
  const ModelConfig cfg = small_model();
  Transformer model(be, cfg);
  model.init_random(3);
  std::printf(
      "\ndecode: %d layers, hidden %d, vocab %d; 16 prompts of 24 tokens, 64 new tokens "
      "each, temperature 1\n",
      cfg.num_hidden_layers, cfg.hidden_size, cfg.vocab_size);
  std::printf("%-8s %-10s %14s %18s\n", "slots", "mode", "tokens/s", "tokens/CPU-s");
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 16; ++i) {
    std::vector<int32_t> p(24);
    for (int t = 0; t < 24; ++t) p[t] = int32_t(Rng(5, i).block(t)[0] % cfg.vocab_size);
    prompts.push_back(p);
  }
  GenerationConfig gen;
  gen.max_new_tokens = 64;
  gen.sampling = {.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .seed = 1};
  for (int slots : {1, 8}) {
    for (int on = 0; on < 2; ++on) {
      be.set_batch_invariant(on);
      Decoder decoder(model, slots, 128);
      size_t tokens = 0;
      const Timing t = time_it(
          [&] {
            tokens = 0;
            for (const Completion& c : generate(decoder, prompts, gen)) tokens += c.tokens.size();
          },
          1.0, 1);
      std::printf("%-8d %-10s %14.0f %18.0f\n", slots, on ? "invariant" : "default",
                  double(tokens) / t.wall, double(tokens) / t.cpu);
    }
  }
  be.set_batch_invariant(false);
}

void bench_train(Backend& be) {
  const ModelConfig cfg = small_model();
  Transformer model(be, cfg);
  model.init_random(4);
  const int B = 8, T = 128, n = B * T;
  std::vector<int32_t> ids(n), targets(n);
  for (int i = 0; i < n; ++i) {
    ids[i] = int32_t(Rng(7, 0).block(i)[0] % cfg.vocab_size);
    targets[i] = int32_t(Rng(7, 0).block(i)[1] % cfg.vocab_size);
  }
  const std::vector<float> dnll(n, 1.0f / n);
  std::printf("\ntraining step (forward + backward), same model, B=%d T=%d\n", B, T);
  std::printf("%-10s %14s %14s %14s\n", "mode", "ms (wall)", "ms (CPU)", "tokens/s");
  for (int on = 0; on < 2; ++on) {
    be.set_batch_invariant(on);
    const Timing t = time_it(
        [&] {
          model.zero_grads();
          model.forward(ids, targets, B, T);
          model.backward(dnll);
          be.synchronize();
        },
        3.0, 3);
    std::printf("%-10s %14.1f %14.1f %14.0f\n", on ? "invariant" : "default", t.wall * 1e3,
                t.cpu * 1e3, n / t.wall);
  }
  be.set_batch_invariant(false);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string what = argc > 1 ? argv[1] : "all";
  auto be = make_backend("cpu");
  double load[1] = {0};
  std::printf("cpu backend, %d OpenMP threads, load average %.2f\n\n", omp_get_max_threads(),
              getloadavg(load, 1) == 1 ? load[0] : -1.0);
  if (what == "gemm" || what == "all") bench_gemm(*be);
  if (what == "decode" || what == "all") bench_decode(*be);
  if (what == "train" || what == "all") bench_train(*be);
  return 0;
}
