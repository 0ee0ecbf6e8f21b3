#pragma once
// A flat open-addressing hash map from a token pair to (rank, merged token): the BPE inner loop
// looks pairs up millions of times per second, so it avoids node-based std::unordered_map.
#include <cstdint>
#include <vector>

namespace tandem {

class PairMap {
 public:
  struct Value {
    int32_t rank = -1;
    int32_t merged = -1;
  };

  void reserve(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    keys_.assign(cap, kEmpty);
    values_.assign(cap, Value{});
    mask_ = cap - 1;
  }

  // Keeps the first value inserted for a key (the lower rank).
  void insert(int32_t a, int32_t b, Value v) {
    const uint64_t k = key(a, b);
    for (size_t i = hash(k) & mask_;; i = (i + 1) & mask_) {
      if (keys_[i] == k) return;
      if (keys_[i] == kEmpty) {
        keys_[i] = k;
        values_[i] = v;
        return;
      }
    }
  }

  // rank -1 when the pair has no merge.
  Value find(int32_t a, int32_t b) const {
    if (keys_.empty()) return {};
    const uint64_t k = key(a, b);
    for (size_t i = hash(k) & mask_;; i = (i + 1) & mask_) {
      if (keys_[i] == k) return values_[i];
      if (keys_[i] == kEmpty) return {};
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  static uint64_t key(int32_t a, int32_t b) {
    return (uint64_t{static_cast<uint32_t>(a)} << 32) | static_cast<uint32_t>(b);
  }
  static size_t hash(uint64_t k) { return static_cast<size_t>((k * 0x9E3779B97F4A7C15ull) >> 29); }

  std::vector<uint64_t> keys_;
  std::vector<Value> values_;
  size_t mask_ = 0;
};

}  // namespace tandem
