#include "tandem/model/decoder.h"
#include "tandem/model/transformer.h"

#include <gtest/gtest.h>

#include <cmath>

#include "support/test_models.h"
#include "tandem/core/rng.h"

namespace tandem {
namespace {

using test::max_rel;
using test::random_tokens;

class DecoderTest : public ::testing::TestWithParam<int> {};  // kv heads: GQA ratio 4/kv

// Prefill then token-by-token decoding must give the logits of recomputing the whole sequence.
TEST_P(DecoderTest, KvCacheMatchesFullRecompute) {
  auto be = make_backend("cpu");
  Transformer model(*be, test::tiny_config({.kv_heads = GetParam()}));
  model.init_random(3);
  // Larger weights than init so that logits are far from uniform and errors would show.
  auto p = model.read_params();
  for (auto& x : p) x *= 8.0f;
  model.load_params(p);
  const int V = model.config().vocab_size, prompt_len = 5, total = 29;
  const auto seq = random_tokens(total, V, 11);
  Decoder dec(model, /*slots=*/3, /*max_len=*/40);
  std::vector<std::vector<float>> cached;
  cached.push_back(dec.prefill(1, std::span(seq).first(prompt_len)));
  std::vector<float> logits(3 * V);
  for (int t = prompt_len; t < total; ++t) {
    std::vector<int32_t> tokens = {0, seq[t], 0};
    dec.decode(tokens, {false, true, false}, logits.data());
    cached.emplace_back(logits.begin() + V, logits.begin() + 2 * V);
  }
  std::vector<int32_t> targets(total, -1);
  model.forward(seq, targets, 1, total);
  const auto full = model.read_logits();
  double worst = 0;
  for (int t = prompt_len - 1; t < total; ++t) {
    std::vector<float> row(full.begin() + size_t(t) * V, full.begin() + size_t(t + 1) * V);
    worst = std::max(worst, max_rel(cached[t - prompt_len + 1], row));
  }
  EXPECT_LE(worst, 1e-5) << "KV-cache logits drift from the full recompute";
  RecordProperty("max_rel_error", std::to_string(worst));
}

INSTANTIATE_TEST_SUITE_P(GqaRatios, DecoderTest, ::testing::Values(4, 2, 1));

}  // namespace
}  // namespace tandem
