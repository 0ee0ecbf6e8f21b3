#pragma once
// Deterministic sampling helpers shared by the tasks: a problem's identity hash (which also
// decides its split) and a cursor of random draws for one (task, level, split, seed, index).
#include <cstdint>
#include <string_view>

#include "tandem/core/rng.h"
#include "tandem/data/tasks/task.h"

namespace tandem::tasks {

// SplitMix64's finalizer: a bijective mix, so distinct inputs stay distinct.
inline uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Identity of a problem: FNV-1a over its canonical text (e.g. "arithmetic:47+85"), then mixed so
// the low digits used by split_of are well spread. Stable across machines and releases: changing
// it reshuffles every held-out set, so don't.
uint64_t problem_hash(std::string_view canonical);

// The split a problem belongs to, decided only by its hash: one problem in ten is held out.
inline constexpr uint64_t kHeldoutModulus = 10;
inline Split split_of(uint64_t hash) {
  return hash % kHeldoutModulus == 0 ? Split::Heldout : Split::Train;
}

// The random draws behind one sample() call. Each (task, level, split, index) gets its own Philox
// stream under the caller's seed, so a problem depends on nothing else (no shared state, any
// order, any thread); draws within the stream are consumed in order by the generator.
class Draws {
 public:
  Draws(uint64_t seed, std::string_view task, int level, Split split, uint64_t index);
  uint64_t next_u64();
  // Uniform integer in [lo, hi]. Modulo bias is below 2^-40 for the ranges used here.
  int64_t uniform(int64_t lo, int64_t hi);

 private:
  Rng rng_;
  uint64_t word_ = 0;  // next 32-bit word of the stream
};

// Redraw limit for rejection loops: the held-out share is 1/10 and the generators' own rejection
// rates are modest, so hitting this means a bug, reported as tandem::Error rather than a hang.
inline constexpr int kMaxAttempts = 100000;

}  // namespace tandem::tasks
