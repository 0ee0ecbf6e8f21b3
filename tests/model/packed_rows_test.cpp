// A packed row (several documents, data/packing.h) must train the model exactly as the documents
// would alone: the same logits for each document's tokens and the same gradient as summing the
// documents' separate backward passes. This checks RoPE positions and the attention mask together.
#include <gtest/gtest.h>

#include <cmath>

#include "support/test_models.h"
#include "tandem/core/error.h"
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

TEST(PackedRowsTest, PositionsMustCountUpWithinADocument) {
  auto be = make_backend("cpu");
  Transformer model(*be, test::tiny_config({}));
  const std::vector<int32_t> ids(4, 1), targets(4, 2), pos = {0, 1, 3, 4};
  EXPECT_THROW(model.forward(ids, targets, 1, 4, pos), Error);
}

}  // namespace
}  // namespace tandem
