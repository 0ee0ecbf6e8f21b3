#include "tandem/data/packing.h"

#include <gtest/gtest.h>

#include "tandem/core/error.h"

namespace tandem {
namespace {

// Example g: tokens 1000 g + 0, 1, ... of length 1 + g % 9 (so some are single tokens, with
// nothing to learn); loss on every token but the first.
class Counting final : public ExampleSource {
 public:
  Example example(uint64_t g) const override {
    Example ex;
    const int len = 1 + int(g % 9);
    for (int i = 0; i < len; ++i) ex.tokens.push_back(int32_t(1000 * g + i));
    ex.loss.assign(len, 1);
    ex.loss[0] = 0;
    return ex;
  }
};

TEST(PackingTest, RowsAreFullAndHoldEveryPairOnceInOrder) {
  Counting src;
  Packer packer(src, 3, 16);
  std::vector<std::pair<int32_t, int32_t>> seen;
  for (int b = 0; b < 4; ++b) {
    const Batch batch = packer.batch(b);
    ASSERT_EQ(batch.B, 3);
    ASSERT_EQ(batch.T, 16);
    for (int r = 0; r < 3; ++r)
      for (int t = 0; t < 16; ++t) {
        const size_t i = size_t(r) * 16 + t;
        seen.emplace_back(batch.ids[i], batch.targets[i]);
        // Positions count within a document, from 0 at each row's start.
        const bool same_doc = t > 0 && batch.ids[i] / 1000 == batch.ids[i - 1] / 1000;
        EXPECT_EQ(batch.pos[i], same_doc ? batch.pos[i - 1] + 1 : 0) << b << " " << r << " " << t;
      }
  }
  // The stream: each example's (token, next token) pairs; examples of one token add none.
  std::vector<std::pair<int32_t, int32_t>> want;
  for (uint64_t g = 0; want.size() < seen.size(); ++g) {
    const Example ex = src.example(g);
    for (size_t k = 0; k + 1 < ex.tokens.size(); ++k)
      want.emplace_back(ex.tokens[k], ex.tokens[k + 1]);
  }
  want.resize(seen.size());
  EXPECT_EQ(seen, want);
}

TEST(PackingTest, SeekingToAPositionResumesExactly) {
  Counting src;
  Packer a(src, 2, 11);
  a.batch(0);
  a.batch(1);
  const Packer::Position at = a.position();
  EXPECT_EQ(at.batch, 2);
  const Batch want = a.batch(2);
  Packer b(src, 2, 11);
  b.seek(at);
  const Batch got = b.batch(2);
  EXPECT_EQ(got.ids, want.ids);
  EXPECT_EQ(got.targets, want.targets);
  EXPECT_EQ(got.pos, want.pos);
  // Asking for a later batch skips those between; an earlier one is an error.
  Packer c(src, 2, 11);
  EXPECT_EQ(c.batch(2).ids, want.ids);
  EXPECT_THROW(c.batch(1), Error);
}

TEST(PackingTest, RowsOfABatchSplitIntoShares) {
  Counting src;
  const Batch b = Packer(src, 4, 8).batch(0);
  const Batch half = batch_rows(b, 1, 2);
  EXPECT_EQ(half.B, 2);
  EXPECT_EQ(std::vector<int32_t>(b.ids.begin() + 8, b.ids.begin() + 24), half.ids);
  EXPECT_EQ(std::vector<int32_t>(b.pos.begin() + 8, b.pos.begin() + 24), half.pos);
}

class NothingToLearn final : public ExampleSource {
 public:
  Example example(uint64_t) const override { return {{5, 6}, {0, 0}}; }
};

TEST(PackingTest, ASourceWithNothingToLearnIsAnError) {
  NothingToLearn src;
  EXPECT_THROW(Packer(src, 1, 4).batch(0), Error);
}

}  // namespace
}  // namespace tandem
