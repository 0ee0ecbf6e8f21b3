// ZeRO-1 pieces that must keep the bits of an unsharded run: each rank's AdamW updates only its
// shard, elementwise as the whole-slab update does, and the gradient norm summed block by block
// equals the backend's whole-slab sum (the CPU backend reduces in the same blocks and order).
#include <gtest/gtest.h>

#include <cstring>

#include "support/test_models.h"
#include "tandem/core/rng.h"
#include "tandem/train/adamw.h"

namespace tandem {
namespace {

// A rank of a world whose collectives are not needed here (each shard is checked on its own).
class FakeRank final : public Communicator {
 public:
  FakeRank(int rank, int size) : rank_(rank), size_(size) {}
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void all_reduce_sum(Backend&, float*, size_t) override {}
  double all_reduce_sum(double v) override { return v; }
  void all_reduce_sum(std::span<double>) override {}
  void reduce_scatter_sum(Backend&, float*, const Shards&) override {}
  void all_gather(Backend&, float*, const Shards&) override {}
  void broadcast(void*, size_t, int) override {}
  void gather(const float*, size_t, float*, int) override {}

 private:
  int rank_, size_;
};

std::vector<float> random_vector(size_t n, uint64_t seed) {
  std::vector<float> x(n);
  const Rng rng(seed, 3);
  for (size_t i = 0; i < n; ++i) x[i] = rng.normal(i);
  return x;
}

TEST(Zero1, ShardsAreWholeNormBlocksCoveringTheSlab) {
  for (size_t n : {size_t(5), kNormBlock, 3 * kNormBlock + 123}) {
    for (int ranks : {1, 2, 3, 5}) {
      const Shards s = even_shards(n, ranks, kNormBlock);
      ASSERT_EQ(s.begin.size(), size_t(ranks) + 1);
      EXPECT_EQ(s.of(0), 0u);
      EXPECT_EQ(s.total(), n);
      for (int r = 0; r < ranks; ++r) {
        EXPECT_LE(s.of(r), s.of(r + 1));
        EXPECT_TRUE(s.of(r) % kNormBlock == 0 || s.of(r) == n) << n << " " << ranks << " " << r;
      }
    }
  }
}

TEST(Zero1, BlockwiseSumOfSquaresEqualsTheWholeSlabs) {
  auto be = make_backend("cpu");
  const size_t n = 3 * kNormBlock + 4321;
  const std::vector<float> x = random_vector(n, 7);
  DeviceBuffer buf(*be, n * sizeof(float));
  be->to_device(buf.as<float>(), x.data(), n * sizeof(float));
  double blocks = 0.0;
  for (size_t b = 0; b < n; b += kNormBlock)
    blocks += be->sum_squares(buf.as<float>() + b, std::min(kNormBlock, n - b));
  const double whole = be->sum_squares(buf.as<float>(), n);
  EXPECT_EQ(std::memcmp(&blocks, &whole, sizeof whole), 0) << blocks << " vs " << whole;
}

TEST(Zero1, ShardedUpdatesEqualTheWholeSlabUpdate) {
  auto be = make_backend("cpu");
  // Several norm blocks, so that every rank of 2 and 3 owns some, and shards cut tensors.
  const ModelConfig cfg = test::tiny_config(
      {.vocab = 1000, .hidden = 96, .layers = 3, .head_dim = 24, .intermediate = 256});
  const ParamLayout layout(cfg);
  const size_t n = size_t(layout.total);
  ASSERT_GT(n, 4 * kNormBlock);
  const std::vector<float> p0 = random_vector(n, 1), g1 = random_vector(n, 2), g2 = random_vector(n, 3);
  auto run = [&](Communicator* comm) {  // two steps; returns the params and the whole moments
    DeviceBuffer p(*be, n * sizeof(float)), g(*be, n * sizeof(float));
    be->to_device(p.as<float>(), p0.data(), n * sizeof(float));
    AdamW opt(*be, layout, AdamWConfig{}, comm);
    for (const auto* grad : {&g1, &g2}) {
      be->to_device(g.as<float>(), grad->data(), n * sizeof(float));
      opt.update(p.as<float>(), g.as<float>(), 1e-2f, 0.7f);
    }
    std::vector<float> out(n);
    be->to_host(out.data(), p.as<float>(), n * sizeof(float));
    return std::make_pair(out, opt.moments());
  };
  const auto [whole, whole_moments] = run(nullptr);
  for (int ranks : {2, 3}) {
    size_t covered = 0;
    for (int r = 0; r < ranks; ++r) {
      FakeRank comm(r, ranks);
      const auto [mine, moments] = run(&comm);
      const Shards s = even_shards(n, ranks, kNormBlock);
      for (size_t i = s.of(r); i < s.of(r + 1); ++i) {
        ASSERT_EQ(std::memcmp(&mine[i], &whole[i], 4), 0) << "rank " << r << " param " << i;
        ASSERT_EQ(moments.m[i], whole_moments.m[i]);
        ASSERT_EQ(moments.v[i], whole_moments.v[i]);
      }
      ASSERT_GT(s.size(r), 0u);
      for (size_t i = 0; i < n; ++i) {  // outside its shard a rank changes nothing
        if (i < s.of(r) || i >= s.of(r + 1)) {
          ASSERT_EQ(mine[i], p0[i]) << "rank " << r << " param " << i;
        }
      }
      covered += s.size(r);
    }
    EXPECT_EQ(covered, n);
  }
}

}  // namespace
}  // namespace tandem
