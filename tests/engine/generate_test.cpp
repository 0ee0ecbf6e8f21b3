// The generation engine's batch entry point: continuous batching over slots must not change
// what a prompt generates (greedy tokens, seeded samples), and limits and stop tokens end it.
#include "tandem/engine/generate.h"

#include <gtest/gtest.h>

#include "tandem/backend/backend.h"
#include "tandem/core/rng.h"
#include "tandem/model/transformer.h"
#include "support/test_models.h"

namespace tandem {
namespace {

using test::random_tokens;

std::vector<std::vector<int32_t>> prompts_for(int V) {
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 7; ++i) prompts.push_back(random_tokens(2 + 3 * i % 11, V, 100 + i));
  return prompts;
}

TEST(Generate, BatchedGreedyEqualsOneAtATime) {
  auto be = make_backend("cpu");
  Transformer model(*be, test::tiny_config());
  model.init_random(5);
  auto p = model.read_params();
  for (auto& x : p) x *= 6.0f;
  model.load_params(p);
  const auto prompts = prompts_for(model.config().vocab_size);
  GenerationConfig cfg;
  cfg.max_new_tokens = 20;
  cfg.stop_tokens = {3};
  Decoder batched(model, 4, 48);
  const auto together = generate(batched, prompts, cfg);
  for (size_t i = 0; i < prompts.size(); ++i) {
    Decoder single(model, 1, 48);
    const auto alone = generate(single, {prompts[i]}, cfg);
    EXPECT_EQ(together[i].tokens, alone[0].tokens) << "prompt " << i;
    ASSERT_EQ(together[i].logprobs.size(), alone[0].logprobs.size());
    // Not bitwise: OpenBLAS blocks a GEMM differently for different row counts.
    for (size_t t = 0; t < alone[0].logprobs.size(); ++t)
      EXPECT_NEAR(together[i].logprobs[t], alone[0].logprobs[t], 1e-4);
  }
}

TEST(Generate, SeedReproducesSampledTokens) {
  auto be = make_backend("cpu");
  Transformer model(*be, test::tiny_config());
  model.init_random(9);
  const auto prompts = prompts_for(model.config().vocab_size);
  GenerationConfig cfg;
  cfg.max_new_tokens = 24;
  cfg.sampling = {.temperature = 1.0f, .top_k = 20, .top_p = 0.95f, .seed = 77};
  Decoder a(model, 3, 48), b(model, 5, 48);  // different slot counts: same tokens
  const auto first = generate(a, prompts, cfg);
  const auto second = generate(b, prompts, cfg);
  int differing_from_greedy = 0;
  GenerationConfig greedy = cfg;
  greedy.sampling.temperature = 0;
  const auto g = generate(a, prompts, greedy);
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(first[i].tokens, second[i].tokens) << "prompt " << i;
    differing_from_greedy += first[i].tokens != g[i].tokens;
  }
  cfg.sampling.seed = 78;
  const auto other = generate(a, prompts, cfg);
  int changed = 0;
  for (size_t i = 0; i < prompts.size(); ++i) changed += other[i].tokens != first[i].tokens;
  EXPECT_GT(changed, 0) << "a different seed should change some samples";
  EXPECT_GT(differing_from_greedy, 0) << "sampling at temperature 1 should not be greedy";
}

TEST(Generate, StopsAtStopTokenAndLength) {
  auto be = make_backend("cpu");
  Transformer model(*be, test::tiny_config());
  model.init_random(2);
  GenerationConfig cfg;
  cfg.max_new_tokens = 6;
  Decoder dec(model, 2, 32);
  const auto out = generate(dec, prompts_for(model.config().vocab_size), cfg);
  for (const auto& c : out) {
    EXPECT_EQ(c.tokens.size(), 6u);
    EXPECT_EQ(c.finish, Completion::Finish::Length);
  }
  // Every token is a stop token: each completion is exactly one token long.
  std::vector<int32_t> all(model.config().vocab_size);
  for (int i = 0; i < model.config().vocab_size; ++i) all[i] = i;
  cfg.stop_tokens = all;
  for (const auto& c : generate(dec, prompts_for(model.config().vocab_size), cfg)) {
    EXPECT_EQ(c.tokens.size(), 1u);
    EXPECT_EQ(c.finish, Completion::Finish::Stop);
  }
}

}  // namespace
}  // namespace tandem
