// A packed row (several documents, data/packing.h) must train the model exactly as the documents
// would alone: the same logits for each document's tokens and the same gradient as summing the
// documents' separate backward passes. This checks RoPE positions and the attention mask together.
#include <gtest/gtest.h>

#include <cmath>

#include "support/test_models.h"
#include "tandem/core/error.h"
#include "tandem/data/sft_batches.h"
#include "tandem/model/transformer.h"

namespace tandem {
namespace {

using test::max_rel;

TEST(PackedRowsTest, PackedRowIsItsDocumentsAlone) {
  auto be = make_backend("cpu");
  Transformer model(*be, test::tiny_config({.kv_heads = 2}));
  model.init_random(5);
  auto p = model.read_params();
  for (auto& x : p) x *= 4.0f;  // logits far from uniform, so a leak between documents shows
  model.load_params(p);
  const int V = model.config().vocab_size;
  // Three documents of 7, 13 and 9 tokens (the last one cut by the row's end) in a row of 27.
  const std::vector<int> lens = {7, 13, 7};
  const int T = 27;
  const auto ids = test::random_tokens(T + 1, V, 17);
  std::vector<int32_t> row_ids(ids.begin(), ids.begin() + T), targets(T), pos(T);
  for (int t = 0, d = 0, start = 0; t < T; ++t) {
    if (t - start == lens[d]) start = t, ++d;
    pos[t] = t - start;
    targets[t] = ids[t + 1];
  }
  model.zero_grads();
  model.forward(row_ids, targets, 1, T, pos);
  const auto packed_logits = model.read_logits();
  std::vector<float> ones(T, 1.0f);
  model.backward(ones);
  const auto packed_grads = model.read_grads();

  model.zero_grads();
  std::vector<float> alone_logits;
  for (int d = 0, start = 0; d < int(lens.size()); start += lens[d], ++d) {
    const std::vector<int32_t> doc(row_ids.begin() + start, row_ids.begin() + start + lens[d]);
    const std::vector<int32_t> doc_targets(targets.begin() + start,
                                           targets.begin() + start + lens[d]);
    model.forward(doc, doc_targets, 1, lens[d]);
    const auto l = model.read_logits();
    alone_logits.insert(alone_logits.end(), l.begin(), l.end());
    model.backward(std::vector<float>(lens[d], 1.0f));  // accumulates over the documents
  }
  const auto alone_grads = model.read_grads();
  EXPECT_LE(max_rel(packed_logits, alone_logits), 1e-5);
  EXPECT_LE(max_rel(packed_grads, alone_grads), 1e-5);
  // And the row without its boundaries is a different computation (the test can fail).
  model.forward(row_ids, targets, 1, T);
  EXPECT_GT(max_rel(model.read_logits(), alone_logits), 1e-3);
  EXPECT_EQ(int(packed_logits.size()), T * V);
}

// The trainer's pad-free layout (data/sft_batches.h: whole examples sharing rows) against one
// example per padded row: the same summed loss and gradient, from rows longer than the context.
TEST(PackedRowsTest, WholeExamplesInLongRowsTrainAsPaddedRows) {
  auto be = make_backend("cpu");
  Transformer model(*be, test::tiny_config({}));  // context 64
  model.init_random(9);
  const int V = model.config().vocab_size;
  std::vector<Example> examples;
  for (int e = 0; e < 9; ++e) {
    Example ex;
    const int len = 20 + 5 * e;  // up to 60 tokens
    const auto ids = test::random_tokens(len, V, 100 + e);
    ex.tokens.assign(ids.begin(), ids.end());
    ex.loss.assign(len, 1);
    for (int t = 0; t < len / 3; ++t) ex.loss[t] = 0;  // a "prompt" without loss
    examples.push_back(ex);
  }
  auto loss_and_grads = [&](const Batch& b) {
    model.zero_grads();
    model.forward(b.ids, b.targets, b.B, b.T, b.pos);
    std::vector<float> nll(size_t(b.B) * b.T), weights(nll.size());
    model.read_token_stats(nll.data(), nullptr);
    double loss = 0;
    for (size_t i = 0; i < nll.size(); ++i)
      if (b.targets[i] >= 0) loss += nll[i], weights[i] = 1.0f;
    model.backward(weights);
    return std::make_pair(loss, model.read_grads());
  };
  const Batch padded = pad_batch(examples, 0);
  const Batch packed = pack_examples(examples, 0, 150);
  ASSERT_GT(packed.T, model.config().max_position_embeddings);
  ASSERT_LT(int64_t(packed.B) * packed.T, int64_t(padded.B) * padded.T);
  const auto [loss_a, grads_a] = loss_and_grads(padded);
  const auto [loss_b, grads_b] = loss_and_grads(packed);
  EXPECT_NEAR(loss_b, loss_a, 1e-5 * std::abs(loss_a));
  EXPECT_LE(max_rel(grads_b, grads_a), 1e-5);
}

TEST(PackedRowsTest, OnlyPackedRowsMayOutgrowTheContext) {
  auto be = make_backend("cpu");
  Transformer model(*be, test::tiny_config({}));  // context 64
  const std::vector<int32_t> ids(80, 1), targets(80, 2);
  std::vector<int32_t> pos(80);
  for (int t = 0; t < 80; ++t) pos[t] = t % 40;  // two documents of 40
  EXPECT_NO_THROW(model.forward(ids, targets, 1, 80, pos));
  EXPECT_THROW(model.forward(ids, targets, 1, 80), Error);    // positions 0..79
  for (int t = 0; t < 80; ++t) pos[t] = t < 10 ? t : t - 10;  // a document of 70
  EXPECT_THROW(model.forward(ids, targets, 1, 80, pos), Error);
}

TEST(PackedRowsTest, PositionsMustCountUpWithinADocument) {
  auto be = make_backend("cpu");
  Transformer model(*be, test::tiny_config({}));
  const std::vector<int32_t> ids(4, 1), targets(4, 2), pos = {0, 1, 3, 4};
  EXPECT_THROW(model.forward(ids, targets, 1, 4, pos), Error);
}

}  // namespace
}  // namespace tandem
