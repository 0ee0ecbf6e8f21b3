#include "tandem/data/packing.h"

#include <algorithm>

#include "tandem/core/error.h"

namespace tandem {

namespace {
// An example with nothing to learn (no loss mark past its first token) is passed over; this many
// in a row means the source has none at all, which is an error rather than an endless loop.
constexpr uint64_t kMaxEmptyRun = 1'000'000;

bool learnable(const Example& ex) {
  return ex.tokens.size() >= 2 &&
         std::any_of(ex.loss.begin() + 1, ex.loss.end(), [](uint8_t l) { return l != 0; });
}
}  // namespace

Packer::Packer(const ExampleSource& source, int rows, int T) : source_(source), rows_(rows), T_(T) {
  TANDEM_CHECK(rows > 0 && T > 0, "[packing] rows {} and length {} must be positive", rows, T);
}

void Packer::seek(const Position& p) {
  at_ = p;
  loaded_ = false;
}

void Packer::load() {
  uint64_t empty = 0;
  for (;;) {
    cur_ = source_.example(at_.example);
    if (learnable(cur_) && at_.offset + 1 < cur_.tokens.size()) break;
    TANDEM_CHECK(++empty < kMaxEmptyRun,
                 "[packing] {} examples in a row have no token to learn from", kMaxEmptyRun);
    ++at_.example, at_.offset = 0;
  }
  loaded_ = true;
}

Batch Packer::batch(int64_t index) {
  TANDEM_CHECK(index >= at_.batch, "[packing] batch {} was asked for after batch {}", index,
               at_.batch);
  for (;;) {
    Batch b{rows_, T_, std::vector<int32_t>(size_t(rows_) * T_),
            std::vector<int32_t>(size_t(rows_) * T_), std::vector<int32_t>(size_t(rows_) * T_)};
    for (int r = 0; r < rows_; ++r) {
      int32_t p = 0;  // position in the current document's piece; a row starts a new context
      for (int t = 0; t < T_; ++t) {
        if (!loaded_) load(), p = 0;
        const size_t k = at_.offset, i = size_t(r) * T_ + t;
        b.ids[i] = cur_.tokens[k];
        b.targets[i] = cur_.loss[k + 1] ? cur_.tokens[k + 1] : -1;
        b.pos[i] = p++;
        if (++at_.offset + 1 >= cur_.tokens.size()) ++at_.example, at_.offset = 0, loaded_ = false;
      }
    }
    if (at_.batch++ == index) return b;
  }
}

Batch batch_rows(const Batch& batch, int first, int n) {
  TANDEM_CHECK(first >= 0 && n > 0 && first + n <= batch.B, "[batch] rows {}..{} of {}", first,
               first + n - 1, batch.B);
  const auto rows = [&](const std::vector<int32_t>& v) {
    if (v.empty()) return v;
    return std::vector<int32_t>(v.begin() + size_t(first) * batch.T,
                                v.begin() + size_t(first + n) * batch.T);
  };
  return {n, batch.T, rows(batch.ids), rows(batch.targets), rows(batch.pos)};
}

}  // namespace tandem
