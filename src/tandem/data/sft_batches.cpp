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

Batch sft_batch(const tasks::Task& task, const Tokenizer& tok, const SftMix& mix, uint64_t seed,
                int64_t batch_index, int B) {
  return sft_batch(task, tok, mix, seed, batch_index, B, 0, B);
}

Batch sft_batch(const tasks::Task& task, const Tokenizer& tok, const SftMix& mix, uint64_t seed,
                int64_t batch_index, int B, int first_row, int n_rows) {
  TANDEM_CHECK(!mix.levels.empty() && mix.levels.size() == mix.weights.size(),
               "[sft] level mix needs one weight per level");
  TANDEM_CHECK(first_row >= 0 && n_rows > 0 && first_row + n_rows <= B,
               "[sft] rows {}..{} are not in a batch of {}", first_row, first_row + n_rows - 1, B);
  std::vector<ChatExample> rows;
  size_t T = 0;
  for (int r = 0; r < n_rows; ++r) {
    const uint64_t index = uint64_t(batch_index) * B + first_row + r;
    const int level = pick_level(mix, seed, index);
    rows.push_back(chat_example(tok, task.sample(level, tasks::Split::Train, seed, index)));
    T = std::max(T, rows.back().tokens.size() - 1);  // inputs drop the last token
  }
  const int32_t pad = tok.find_token("<|endoftext|>");
  Batch batch{n_rows, int(T), std::vector<int32_t>(n_rows * T, std::max(pad, 0)),
              std::vector<int32_t>(n_rows * T, -1)};
  for (int r = 0; r < n_rows; ++r) {
    const auto& ex = rows[r];
    for (size_t t = 0; t + 1 < ex.tokens.size(); ++t) {
      batch.ids[r * T + t] = ex.tokens[t];
      if (t + 1 >= ex.loss_from) batch.targets[r * T + t] = ex.tokens[t + 1];
    }
  }
  return batch;
}

}  // namespace tandem
