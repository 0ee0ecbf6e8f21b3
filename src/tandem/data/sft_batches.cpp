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

namespace {
// Rows for examples of these input lengths: the fewest, from the total's lower bound up, whose
// longest-first greedy spread keeps every row within cap (one example per row always does).
std::vector<std::vector<int>> spread_over_rows(const std::vector<int64_t>& len, int64_t cap) {
  const int n = int(len.size());
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return len[a] > len[b]; });
  const int64_t total = std::accumulate(len.begin(), len.end(), int64_t(0));
  for (int rows = int(std::max<int64_t>(1, (total + cap - 1) / cap));; ++rows) {
    std::vector<std::vector<int>> members(rows);
    std::vector<int64_t> load(rows, 0);
    bool fits = true;
    for (int i : order) {
      const int r = int(std::min_element(load.begin(), load.end()) - load.begin());
      load[r] += len[i], members[r].push_back(i);
      fits = fits && load[r] <= cap;
    }
    if (fits || rows >= n) {
      for (auto& m : members) std::sort(m.begin(), m.end());
      return members;
    }
  }
}
}  // namespace

Batch pack_examples(const std::vector<Example>& examples, int32_t pad, int row_tokens) {
  TANDEM_CHECK(row_tokens > 0, "[sft] packed rows need a positive length, got {}", row_tokens);
  std::vector<int64_t> len;  // inputs: every token but the last
  std::vector<const Example*> kept;
  for (const Example& ex : examples)
    if (ex.tokens.size() > 1) len.push_back(int64_t(ex.tokens.size()) - 1), kept.push_back(&ex);
  if (kept.empty()) return pad_batch(examples, pad);  // nothing to learn: as padded rows
  const int64_t cap = std::max<int64_t>(row_tokens, *std::max_element(len.begin(), len.end()));
  const std::vector<std::vector<int>> rows = spread_over_rows(len, cap);
  int64_t T = 0;
  for (const auto& members : rows) {
    int64_t used = 0;
    for (int i : members) used += len[i];
    T = std::max(T, used);
  }
  const int B = int(rows.size());
  Batch batch{B, int(T), std::vector<int32_t>(size_t(B) * T, std::max(pad, 0)),
              std::vector<int32_t>(size_t(B) * T, -1), std::vector<int32_t>(size_t(B) * T, 0)};
  for (int r = 0; r < B; ++r) {
    size_t at = size_t(r) * size_t(T);
    for (int i : rows[r]) {
      const Example& ex = *kept[i];
      for (int64_t t = 0; t < len[i]; ++t, ++at) {
        batch.ids[at] = ex.tokens[t];
        if (ex.loss[t + 1]) batch.targets[at] = ex.tokens[t + 1];
        batch.pos[at] = int32_t(t);
      }
    }
    // The padding at the row's end (position 0 each: a document of one token) has no loss.
  }
  return batch;
}

Batch sft_batch(const ExampleSource& source, int32_t pad, int64_t batch_index, int B, int first,
                int n, int row_tokens) {
  TANDEM_CHECK(first >= 0 && n > 0 && first + n <= B,
               "[sft] examples {}..{} are not in a batch of {}", first, first + n - 1, B);
  std::vector<Example> examples;
  for (int r = 0; r < n; ++r)
    examples.push_back(source.example(uint64_t(batch_index) * B + first + r));
  return row_tokens > 0 ? pack_examples(examples, pad, row_tokens) : pad_batch(examples, pad);
}

}  // namespace tandem
