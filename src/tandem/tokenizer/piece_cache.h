#pragma once
// Per-thread memo of piece -> tokens. Text repeats its words, so most pieces are found here and
// BPE runs once per distinct word. Flat open addressing over two arenas (keys, ids). The table
// starts small and doubles as it fills, up to kMaxSlots; full at that size it is simply cleared,
// which bounds memory without bookkeeping. Starting small matters where many threads each encode
// a little (a server's HTTP threads): a thread that saw one prompt holds kilobytes, not 3 MB.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace tandem {

class PieceCache {
 public:
  static constexpr size_t kMaxPiece = 256;  // longer pieces rarely repeat; not cached

  // Returns the cached tokens of piece (owner identifies the tokenizer) or nullptr.
  const int32_t* find(uint64_t owner, std::string_view piece, uint64_t h, size_t& count) {
    if (owner != owner_) reset(owner);
    const size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.key_len == kEmpty) return nullptr;
      if (s.hash == h && s.key_len == piece.size() &&
          std::memcmp(keys_.data() + s.key_off, piece.data(), piece.size()) == 0) {
        count = s.ids_len;
        return ids_.data() + s.ids_off;
      }
    }
  }

  void insert(std::string_view piece, uint64_t h, const int32_t* ids, size_t count) {
    if (size_ * 4 >= slots_.size() * 3) {
      if (slots_.size() < kMaxSlots) grow();
      else reset(owner_);
    }
    if (keys_.size() > (64u << 20)) reset(owner_);
    place({h, static_cast<uint32_t>(keys_.size()), static_cast<uint32_t>(piece.size()),
           static_cast<uint32_t>(ids_.size()), static_cast<uint32_t>(count)});
    keys_.append(piece);
    ids_.insert(ids_.end(), ids, ids + count);
    ++size_;
  }

  static uint64_t hash(std::string_view s) {
    // 8 bytes at a time, multiply-xorshift mixing: fast and good enough for a cache.
    uint64_t h = 0x9E3779B97F4A7C15ull ^ s.size();
    size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
      h ^= h >> 31;
    }
    uint64_t w = 0;
    std::memcpy(&w, s.data() + i, s.size() - i);
    h = (h ^ w) * 0x94D049BB133111EBull;
    return h ^ (h >> 29);
  }

 private:
  static constexpr size_t kMinSlots = size_t{1} << 10;
  static constexpr size_t kMaxSlots = size_t{1} << 17;
  static constexpr uint32_t kEmpty = ~uint32_t{0};
  struct Slot {
    uint64_t hash = 0;
    uint32_t key_off = 0, key_len = kEmpty, ids_off = 0, ids_len = 0;
  };

  void place(const Slot& slot) {
    const size_t mask = slots_.size() - 1;
    size_t i = slot.hash & mask;
    while (slots_[i].key_len != kEmpty) i = (i + 1) & mask;
    slots_[i] = slot;
  }

  // Twice the slots; entries move by their stored hash (keys and ids stay where they are).
  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    for (const Slot& s : old)
      if (s.key_len != kEmpty) place(s);
  }

  void reset(uint64_t owner) {
    owner_ = owner;
    slots_.assign(kMinSlots, Slot{});
    keys_.clear();
    ids_.clear();
    size_ = 0;
  }

  uint64_t owner_ = 0;
  std::vector<Slot> slots_;
  std::string keys_;
  std::vector<int32_t> ids_;
  size_t size_ = 0;
};

}  // namespace tandem
