#include "tandem/data/sft_batches.h"

#include <algorithm>
#include <numeric>

#include "tandem/core/error.h"
#include "tandem/core/rng.h"
#include "tandem/data/chat_format.h"

namespace tandem {

namespace {
constexpr uint64_t kLevelStream = 0x1e7e1;  // RNG stream that picks each row's level

int pick_level(const SftMix& mix, uint64_t seed, uint64_t index) {
  const double total = std::accumulate(mix.weights.begin(), mix.weights.end(), 0.0);
  double u = Rng(seed, kLevelStream).uniform(index) * total;
  for (size_t i = 0; i < mix.levels.size(); ++i) {
    if (u < mix.weights[i]) return mix.levels[i];
    u -= mix.weights[i];
  }
  return mix.levels.back();
}
}  // namespace

TaskExamples::TaskExamples(const tasks::Task& task, const Tokenizer& tok, SftMix mix, uint64_t seed)
    : task_(task), tok_(tok), mix_(std::move(mix)), seed_(seed) {
  TANDEM_CHECK(!mix_.levels.empty() && mix_.levels.size() == mix_.weights.size(),
               "[sft] level mix needs one weight per level");
}

tasks::Problem TaskExamples::problem(uint64_t row, tasks::Split split) const {
  return task_.sample(pick_level(mix_, seed_, row), split, seed_, row);
}

Example TaskExamples::example(uint64_t row) const { return chat_example(tok_, problem(row)); }

Batch pad_batch(const std::vector<Example>& rows, int32_t pad) {
  size_t T = 1;
  for (const Example& ex : rows) T = std::max(T, ex.tokens.size() - std::min<size_t>(ex.tokens.size(), 1));
  const int n = int(rows.size());
  Batch batch{n,
              int(T),
              std::vector<int32_t>(n * T, std::max(pad, 0)),
              std::vector<int32_t>(n * T, -1),
              {}};
  for (int r = 0; r < n; ++r) {
    const Example& ex = rows[r];
    for (size_t t = 0; t + 1 < ex.tokens.size(); ++t) {
      batch.ids[r * T + t] = ex.tokens[t];
      if (ex.loss[t + 1]) batch.targets[r * T + t] = ex.tokens[t + 1];
    }
  }
  return batch;
}

Batch sft_batch(const ExampleSource& source, int32_t pad, int64_t batch_index, int B, int first_row,
                int n_rows) {
  TANDEM_CHECK(first_row >= 0 && n_rows > 0 && first_row + n_rows <= B,
               "[sft] rows {}..{} are not in a batch of {}", first_row, first_row + n_rows - 1, B);
  std::vector<Example> rows;
  for (int r = 0; r < n_rows; ++r) rows.push_back(source.example(uint64_t(batch_index) * B + first_row + r));
  return pad_batch(rows, pad);
}

}  // namespace tandem
