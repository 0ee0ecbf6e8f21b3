#include "tandem/data/packing.h"

#include <gtest/gtest.h>

#include "tandem/core/error.h"
#include "tandem/data/sft_batches.h"

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

// Whole examples sharing rows (pack_examples): every example lies in one row, its tokens in
// order from position 0, each row's examples in their given order, padding only at the rows'
// ends, no row past the cap unless one example alone is longer.
TEST(WholeRowsTest, ExamplesLieWholeInBalancedRows) {
  Counting src;  // lengths 1 + g % 9: inputs of 0 .. 8 tokens
  std::vector<Example> examples;
  for (uint64_t g = 0; g < 40; ++g) examples.push_back(src.example(g));
  const int cap = 20;
  const Batch b = pack_examples(examples, 7, cap);
  ASSERT_EQ(b.pos.size(), b.ids.size());
  ASSERT_LE(b.T, cap);
  int64_t inputs = 0;
  for (const Example& ex : examples) inputs += int64_t(ex.tokens.size()) - 1;
  const int fewest = int((inputs + cap - 1) / cap);
  EXPECT_GE(b.B, fewest);
  EXPECT_LE(b.B, fewest + 1);
  EXPECT_LE(int64_t(b.B) * b.T - inputs, b.B * 8);  // padding: under one example per row
  std::vector<int> found(examples.size(), 0);
  for (int r = 0; r < b.B; ++r) {
    int64_t last = -1;
    for (int t = 0; t < b.T; ++t) {
      const size_t i = size_t(r) * b.T + t;
      if (b.targets[i] < 0) {  // padding: only at the row's end, a one-token document each
        EXPECT_EQ(b.ids[i], 7);
        EXPECT_EQ(b.pos[i], 0);
        for (int u = t; u < b.T; ++u) EXPECT_LT(b.targets[size_t(r) * b.T + u], 0);
        break;
      }
      const int64_t g = b.ids[i] / 1000;
      EXPECT_EQ(b.ids[i], 1000 * g + b.pos[i]);  // example g's token pos[i], at position pos[i]
      EXPECT_EQ(b.targets[i], b.ids[i] + 1);
      if (b.pos[i] == 0) {
        EXPECT_GT(g, last) << "row " << r << ": examples out of order";
        last = g, ++found[g];
      }
    }
  }
  for (size_t g = 0; g < examples.size(); ++g)
    EXPECT_EQ(found[g], examples[g].tokens.size() > 1 ? 1 : 0) << "example " << g;
}

TEST(WholeRowsTest, AnExampleLongerThanTheCapGetsARowOfItsOwn) {
  Counting src;
  const std::vector<Example> examples = {src.example(8), src.example(2), src.example(3)};
  const Batch b = pack_examples(examples, 0, 4);  // inputs 8, 2, 3
  EXPECT_EQ(b.T, 8);
  EXPECT_EQ(b.B, 2);
  EXPECT_THROW(pack_examples(examples, 0, 0), Error);
  // Nothing to learn (single tokens): one padded row each, as pad_batch makes them.
  const Batch none = pack_examples({src.example(0), src.example(9)}, 0, 4);
  EXPECT_EQ(none.B, 2);
  EXPECT_EQ(none.T, 1);
  for (int32_t t : none.targets) EXPECT_LT(t, 0);
}

}  // namespace
}  // namespace tandem
