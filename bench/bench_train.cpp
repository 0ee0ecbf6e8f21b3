// Training throughput of one configuration: forward + backward + AdamW on random tokens.
//   bench_train --vocab V --hidden C --layers L --heads H --kv-heads K --head-dim D
//               --intermediate I --batch B --seq T --steps N [--backend cpu]
// Prints one JSON line: tokens/s, achieved GFLOP/s (6 * params * tokens + attention), peak RSS.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tandem/backend/backend.h"
#include "tandem/core/rng.h"
#include "tandem/model/transformer.h"
#include "tandem/train/adamw.h"

using namespace tandem;

int main(int argc, char** argv) {
  ModelConfig cfg;
  cfg.vocab_size = 512, cfg.hidden_size = 128, cfg.num_hidden_layers = 4;
  cfg.num_attention_heads = 4, cfg.num_key_value_heads = 4, cfg.head_dim = 32;
  cfg.intermediate_size = 384;
  int B = 8, T = 128, steps = 10;
  std::string backend = "cpu";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (k == "--vocab") cfg.vocab_size = v;
    else if (k == "--hidden") cfg.hidden_size = v;
    else if (k == "--layers") cfg.num_hidden_layers = v;
    else if (k == "--heads") cfg.num_attention_heads = v;
    else if (k == "--kv-heads") cfg.num_key_value_heads = v;
    else if (k == "--head-dim") cfg.head_dim = v;
    else if (k == "--intermediate") cfg.intermediate_size = v;
    else if (k == "--batch") B = v;
    else if (k == "--seq") T = v;
    else if (k == "--steps") steps = v;
    else if (k == "--backend") backend = argv[i + 1];
    else {
      std::fprintf(stderr, "bench_train: unknown flag %s\n", k.c_str());
      return 2;
    }
  }
  cfg.max_position_embeddings = T;
  auto be = make_backend(backend);
  Transformer model(*be, cfg);
  model.init_random(1);
  AdamW opt(*be, model.layout(), {});
  const int n = B * T;
  std::vector<int32_t> ids(n), targets(n);
  std::vector<float> dnll(n, 1.0f / n);
  const Rng rng(7, 0);
  auto run_step = [&](int s) {
    for (int i = 0; i < n; ++i) {
      ids[i] = int32_t(rng.block(uint64_t(s) * n + i)[0] % cfg.vocab_size);
      targets[i] = int32_t(rng.block(uint64_t(s) * n + i)[1] % cfg.vocab_size);
    }
    model.zero_grads();
    model.forward(ids, targets, B, T);
    model.backward(dnll);
    const GradNorm clip = clip_grad_norm(*be, model.grads(), model.layout().total, 1.0f);
    opt.update(model.params(), model.grads(), 1e-4f, clip.scale);
  };
  run_step(0);  // warm-up: first-touch of activations
  be->synchronize();
  const auto t0 = std::chrono::steady_clock::now();
  for (int s = 1; s <= steps; ++s) run_step(s);
  be->synchronize();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double tokens = double(n) * steps;
  // 6 flops per parameter per token for the matmuls (embedding lookup excluded, LM head included),
  // plus causal attention: fwd 2 matmuls of T*T/2*D per head, bwd 2x that => 6 * 2 * T/2 * D * H.
  const double matmul_params = double(model.layout().total) - double(cfg.vocab_size) *
                               cfg.hidden_size * (cfg.tie_word_embeddings ? 0 : 1);
  const double flops_per_token =
      6.0 * matmul_params + 6.0 * T * cfg.head_dim * cfg.num_attention_heads * cfg.num_hidden_layers;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf(
      "{\"engine\":\"tandem\",\"params\":%lld,\"tokens_per_s\":%.1f,\"gflops\":%.2f,"
      "\"step_ms\":%.2f,\"peak_rss_mb\":%.1f}\n",
      (long long)model.layout().total, tokens / secs, flops_per_token * tokens / secs / 1e9,
      secs / steps * 1e3, ru.ru_maxrss / 1024.0);
  return 0;
}
