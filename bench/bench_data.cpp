// The data pipeline's own speed, to set beside training's (docs/data.md): opens a dataset the way
// `tandem train --data` does (index + validation scan), then makes batches of rows as the trainer
// asks for them (read back, parse, tokenize, pad), with nothing else running.
//   bench_data [--tokenizer tokenizer.json] [--batch B] [--rows N] [--max-tokens T] FILE...
// Prints one JSON line: bytes and records indexed, the scan's MB/s, the batches' tokens/s, and
// peak RSS (before opening, after, at the end) in MB.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tandem/data/dataset.h"
#include "tandem/recipes/model_dir.h"

using namespace tandem;
using Clock = std::chrono::steady_clock;

namespace {
double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;
}
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
}  // namespace

int main(int argc, char** argv) {
  std::string tokenizer;
  int batch = 32;
  int64_t rows = 20000;
  DataOptions o;
  o.max_tokens = 257;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--tokenizer" && i + 1 < argc) tokenizer = argv[++i];
    else if (a == "--batch" && i + 1 < argc) batch = std::atoi(argv[++i]);
    else if (a == "--rows" && i + 1 < argc) rows = std::atoll(argv[++i]);
    else if (a == "--max-tokens" && i + 1 < argc) o.max_tokens = std::atoi(argv[++i]);
    else o.files.push_back(a);
  }
  if (o.files.empty()) {
    std::fprintf(stderr, "usage: bench_data [--tokenizer T] [--batch B] [--rows N] FILE...\n");
    return 2;
  }
  const Tokenizer tok = tokenizer.empty() ? demo_tokenizer() : load_tokenizer(tokenizer);
  const double rss_start = peak_rss_mb();
  auto t0 = Clock::now();
  const Dataset data(o, tok);
  const double open_s = since(t0);
  const double rss_open = peak_rss_mb();
  uint64_t bytes = 0, records = 0;
  for (const auto& f : data.files()) bytes += f.bytes, records += f.records;
  t0 = Clock::now();
  int64_t tokens = 0, target_tokens = 0;
  for (int64_t b = 0; b * batch < rows; ++b) {
    const Batch x = sft_batch(data, 0, b, batch, 0, batch);
    tokens += int64_t(x.ids.size());
    for (int32_t t : x.targets) target_tokens += t >= 0;
  }
  const double batch_s = since(t0);
  std::printf("{\"bytes\": %llu, \"records\": %llu, \"open_s\": %.3f, \"scan_mb_per_s\": %.1f, "
              "\"rows\": %lld, \"batch_tokens\": %lld, \"target_tokens\": %lld, \"batch_s\": %.3f, "
              "\"tokens_per_s\": %.0f, \"rss_start_mb\": %.1f, \"rss_open_mb\": %.1f, "
              "\"rss_peak_mb\": %.1f}\n",
              (unsigned long long)bytes, (unsigned long long)records, open_s,
              double(bytes) / 1e6 / open_s, (long long)rows, (long long)tokens,
              (long long)target_tokens, batch_s, double(tokens) / batch_s, rss_start, rss_open,
              peak_rss_mb());
}
