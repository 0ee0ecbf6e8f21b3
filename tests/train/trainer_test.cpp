#include "tandem/train/trainer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "support/test_models.h"
#include "tandem/core/error.h"
#include "tandem/core/rng.h"
#include "tandem/train/checkpoint.h"

namespace tandem {
namespace {

Batch random_batch(int B, int T, int V, uint64_t seed) {
  Batch b{B, T, std::vector<int32_t>(B * T), std::vector<int32_t>(B * T), {}};
  const Rng rng(seed, 1);
  for (int i = 0; i < B * T; ++i) {
    b.ids[i] = int32_t(rng.block(i)[0] % V);
    b.targets[i] = i % T < 2 ? -1 : int32_t(rng.block(i)[1] % V);  // first two: prompt, no loss
  }
  return b;
}

Batch slice(const Batch& b, int first_row, int rows) {
  const size_t begin = size_t(first_row) * b.T, end = begin + size_t(rows) * b.T;
  return {rows,
          b.T,
          {b.ids.begin() + begin, b.ids.begin() + end},
          {b.targets.begin() + begin, b.targets.begin() + end},
          {}};
}

TrainConfig config() {
  TrainConfig c;
  c.lr = {.peak = 1e-2f, .min_lr = 1e-3f, .warmup_steps = 2, .total_steps = 10};
  return c;
}

TEST(LrSchedule, WarmupThenCosine) {
  const LrSchedule s{.peak = 1.0f, .min_lr = 0.1f, .warmup_steps = 4, .total_steps = 14};
  EXPECT_FLOAT_EQ(s.at(0), 0.25f);
  EXPECT_FLOAT_EQ(s.at(3), 1.0f);
  EXPECT_FLOAT_EQ(s.at(4), 1.0f);
  EXPECT_NEAR(s.at(9), 0.55f, 1e-6);  // halfway through the cosine
  EXPECT_FLOAT_EQ(s.at(14), 0.1f);
  EXPECT_FLOAT_EQ(s.at(1000), 0.1f);
}

TEST(Trainer, AccumulatingMicroBatchesEqualsOneBigBatch) {
  auto be = make_backend("cpu");
  const ModelConfig cfg = test::tiny_config();
  Transformer a(*be, cfg), b(*be, cfg);
  a.init_random(1), b.init_random(1);
  Trainer ta(a, config()), tb(b, config());
  for (int s = 0; s < 3; ++s) {
    const Batch big = random_batch(4, 9, cfg.vocab_size, s);
    const std::vector<Batch> halves = {slice(big, 0, 2), slice(big, 2, 2)};
    const StepStats one = ta.step(std::span(&big, 1));
    const StepStats two = tb.step(halves);
    EXPECT_NEAR(one.loss, two.loss, 1e-6 * one.loss);
    EXPECT_EQ(one.target_tokens, two.target_tokens);
  }
  const auto pa = a.read_params(), pb = b.read_params();
  double diff = 0, norm = 0;
  for (size_t i = 0; i < pa.size(); ++i) diff += std::pow(pa[i] - pb[i], 2), norm += pa[i] * pa[i];
  EXPECT_LT(diff / norm, 1e-12);
}

// The buckets backward hands over while it runs (overlapped data parallel): they cover the slab
// once, tail first and the embedding last, and a bucket is final when announced: the rest of the
// pass leaves it as it was, for tied and untied heads alike.
TEST(Transformer, BackwardAnnouncesEachFinishedBucketOnce) {
  auto be = make_backend("cpu");
  for (bool tied : {true, false}) {
    ModelConfig cfg = test::tiny_config();
    cfg.tie_word_embeddings = tied;
    Transformer m(*be, cfg);
    m.init_random(3);
    const Batch b = random_batch(2, 7, cfg.vocab_size, 5);
    m.forward(b.ids, b.targets, b.B, b.T);
    m.zero_grads();
    std::vector<std::pair<int64_t, int64_t>> buckets;
    std::vector<std::vector<float>> seen;
    m.backward(std::vector<float>(b.ids.size(), 0.1f), [&](int64_t begin, int64_t end) {
      buckets.emplace_back(begin, end);
      seen.emplace_back(size_t(end - begin));
      be->to_host(seen.back().data(), m.grads() + begin, size_t(end - begin) * sizeof(float));
    });
    ASSERT_EQ(buckets.size(), size_t(cfg.num_hidden_layers + 2)) << "tied " << tied;
    EXPECT_EQ(buckets.front().second, m.layout().total);
    EXPECT_EQ(buckets.back().first, 0);
    std::vector<std::pair<int64_t, int64_t>> sorted = buckets;
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 0; i + 1 < sorted.size(); ++i) EXPECT_EQ(sorted[i].second, sorted[i + 1].first);
    const std::vector<float> final_grads = m.read_grads();
    for (size_t k = 0; k < buckets.size(); ++k) {
      double norm = 0;
      for (size_t i = 0; i < seen[k].size(); ++i) {
        ASSERT_EQ(seen[k][i], final_grads[size_t(buckets[k].first) + i]) << "bucket " << k;
        norm += seen[k][i] * seen[k][i];
      }
      EXPECT_GT(norm, 0) << "bucket " << k << " holds no gradient yet";
    }
  }
}

TEST(Trainer, LossFallsOnARepeatedBatch) {
  auto be = make_backend("cpu");
  Transformer m(*be, test::tiny_config());
  m.init_random(4);
  TrainConfig c = config();
  c.lr.total_steps = 30;
  Trainer t(m, c);
  const Batch b = random_batch(2, 12, m.config().vocab_size, 1);
  const double first = t.step(std::span(&b, 1)).loss;
  double last = first;
  for (int i = 0; i < 29; ++i) last = t.step(std::span(&b, 1)).loss;
  EXPECT_LT(last, 0.5 * first);
}

TEST(Trainer, NonFiniteLossSkipsTheUpdate) {
  auto be = make_backend("cpu");
  Transformer m(*be, test::tiny_config());
  m.init_random(4);
  auto p = m.read_params();
  p[m.layout().final_norm] = NAN;
  m.load_params(p);
  Trainer t(m, config());
  const Batch b = random_batch(2, 8, m.config().vocab_size, 2);
  const StepStats s = t.step(std::span(&b, 1));
  EXPECT_TRUE(s.skipped);
  EXPECT_EQ(t.optimizer().step(), 0);
  const auto after = m.read_params();
  for (size_t i = 0; i < p.size(); ++i)
    if (!std::isnan(p[i])) {
      ASSERT_EQ(p[i], after[i]) << i;
    }
}

// Save after 3 steps, train 3 more; a fresh trainer resumed from the checkpoint must end with
// bitwise-identical weights.
TEST(Checkpoint, ResumeIsBitwiseExact) {
  auto be = make_backend("cpu");
  const ModelConfig cfg = test::tiny_config({.kv_heads = 1, .tied = false});
  const std::string dir = ::testing::TempDir() + "/tandem_ckpt_resume";
  std::filesystem::remove_all(dir);
  Transformer a(*be, cfg);
  a.init_random(7);
  Trainer ta(a, config());
  for (int s = 0; s < 3; ++s) {
    const Batch b = random_batch(2, 10, cfg.vocab_size, s);
    ta.step(std::span(&b, 1));
  }
  TrainerState state;
  state.step = ta.steps_done(), state.adam_step = ta.optimizer().step();
  state.seed = 7, state.data_position = 3;
  save_checkpoint(dir, ta, state);
  EXPECT_THROW(save_checkpoint(dir, ta, {}), Error) << "must refuse to overwrite";
  for (int s = 3; s < 6; ++s) {
    const Batch b = random_batch(2, 10, cfg.vocab_size, s);
    ta.step(std::span(&b, 1));
  }
  Transformer r(*be, cfg);
  Trainer tr(r, config());
  const TrainerState st = load_checkpoint(dir, tr);
  EXPECT_EQ(st.data_position, 3);
  EXPECT_EQ(st.seed, 7u);
  for (int64_t s = st.data_position; s < 6; ++s) {
    const Batch b = random_batch(2, 10, cfg.vocab_size, s);
    tr.step(std::span(&b, 1));
  }
  EXPECT_EQ(a.read_params(), r.read_params());
}

}  // namespace
}  // namespace tandem
