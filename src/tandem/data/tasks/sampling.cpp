#include "tandem/data/tasks/sampling.h"

#include "tandem/core/error.h"

namespace tandem::tasks {

uint64_t problem_hash(std::string_view canonical) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char ch : canonical) h = (h ^ ch) * 0x100000001b3ull;
  return mix64(h);
}

namespace {
uint64_t stream_of(std::string_view task, int level, Split split, uint64_t index) {
  uint64_t h = problem_hash(task);
  h = mix64(h ^ uint64_t(level));
  h = mix64(h ^ (split == Split::Heldout ? 1u : 0u));
  return mix64(h ^ index);
}
}  // namespace

Draws::Draws(uint64_t seed, std::string_view task, int level, Split split, uint64_t index)
    : rng_(seed, stream_of(task, level, split, index)) {}

uint64_t Draws::next_u64() {
  // Two consecutive 32-bit words; a block of four is recomputed per word, which is cheap next to
  // formatting the problem text.
  const uint64_t lo = rng_.block(word_ / 4)[word_ % 4];
  ++word_;
  const uint64_t hi = rng_.block(word_ / 4)[word_ % 4];
  ++word_;
  return (hi << 32) | lo;
}

int64_t Draws::uniform(int64_t lo, int64_t hi) {
  TANDEM_CHECK(lo <= hi, "[tasks] uniform: empty range [{}, {}]", lo, hi);
  const uint64_t range = uint64_t(hi - lo) + 1;
  return lo + int64_t(next_u64() % range);
}

}  // namespace tandem::tasks
