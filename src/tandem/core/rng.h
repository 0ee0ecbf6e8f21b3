#pragma once
// Counter-based random numbers (Philox4x32-10, Salmon et al., SC'11). A value is a pure function
// of (seed, stream, index), so every backend, thread count and resume point draws the same numbers:
// no hidden generator state to save beyond the counters the caller already tracks.
#include <array>
#include <cmath>
#include <cstdint>

namespace tandem {

inline std::array<uint32_t, 4> philox4x32(std::array<uint32_t, 4> ctr, std::array<uint32_t, 2> key) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = uint64_t(M0) * ctr[0];
    const uint64_t p1 = uint64_t(M1) * ctr[2];
    ctr = {uint32_t(p1 >> 32) ^ ctr[1] ^ key[0], uint32_t(p1), uint32_t(p0 >> 32) ^ ctr[3] ^ key[1],
           uint32_t(p0)};
    key = {key[0] + W0, key[1] + W1};
  }
  return ctr;
}

// A named stream of random numbers under one seed: draw i is philox(seed, stream, i).
class Rng {
 public:
  Rng(uint64_t seed, uint64_t stream) : seed_(seed), stream_(stream) {}

  // Four 32-bit words for block `i` of this stream.
  std::array<uint32_t, 4> block(uint64_t i) const {
    return philox4x32({uint32_t(i), uint32_t(i >> 32), uint32_t(stream_), uint32_t(stream_ >> 32)},
                      {uint32_t(seed_), uint32_t(seed_ >> 32)});
  }
  // Uniform in [0, 1) with 24 random bits, from word `i` of the stream.
  float uniform(uint64_t i) const { return float(block(i / 4)[i % 4] >> 8) * 0x1.0p-24f; }
  // Standard normal for index i (Box-Muller on two words of one block, computed in double).
  float normal(uint64_t i) const {
    const auto b = block(i);
    const double u1 = (double(b[0]) + 1.0) * 0x1.0p-32;  // (0, 1]
    const double u2 = double(b[1]) * 0x1.0p-32;
    return float(std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
  }
  uint64_t seed() const { return seed_; }
  uint64_t stream() const { return stream_; }

 private:
  uint64_t seed_, stream_;
};

}  // namespace tandem
