#pragma once
// A pseudo-random permutation of 0..n-1 that is a pure function of (n, seed, stream, position):
// no table, so shuffling ten million records costs nothing to hold and nothing to checkpoint.
// A 4-round Feistel network on the smallest even number of bits that covers n is a bijection of
// that power of two; positions whose image falls at or past n are walked through it again until
// the image lands inside (cycle walking), which keeps it a bijection of 0..n-1. The domain is under
// 4n, so a walk takes under four rounds on average.
#include <cstdint>

#include "tandem/core/rng.h"

namespace tandem {

class Permutation {
 public:
  Permutation(uint64_t n, uint64_t seed, uint64_t stream) : n_(n), seed_(seed), stream_(stream) {
    while (half_bits_ < 32 && (uint64_t(1) << (2 * half_bits_)) < n) ++half_bits_;
  }

  uint64_t size() const { return n_; }
  uint64_t operator()(uint64_t i) const {
    uint64_t x = i;
    do x = feistel(x);
    while (x >= n_);
    return x;
  }

 private:
  uint64_t feistel(uint64_t x) const {
    const uint64_t mask = (uint64_t(1) << half_bits_) - 1;
    uint64_t left = x >> half_bits_, right = x & mask;
    const Rng rng(seed_, stream_);
    for (uint64_t round = 0; round < 4; ++round) {
      // Round key: one Philox block per (round, right half); its low bits mix into the left.
      const auto b = rng.block((round << 32) | right);
      const uint64_t f = (uint64_t(b[0]) | uint64_t(b[1]) << 32) & mask;
      const uint64_t next = left ^ f;
      left = right, right = next;
    }
    return (left << half_bits_) | right;
  }

  uint64_t n_, seed_, stream_;
  int half_bits_ = 0;
};

}  // namespace tandem
