#pragma once
// Byte-level BPE: a piece of raw bytes starts as one token per byte; the adjacent pair with the
// lowest merge rank (leftmost on ties) is merged until no ranked pair remains. Tokens are kept
// as raw bytes; the byte-level alphabet only matters when reading or writing JSON.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/tokenizer/pair_map.h"

namespace tandem {

class BpeModel {
 public:
  struct Merge {
    int32_t left, right, merged;
  };

  BpeModel() = default;
  // token_bytes[id] is the raw bytes of token id ("" for ids the model does not own).
  // byte_ids[b] is the token of the single byte b. merges are in rank order.
  BpeModel(std::vector<std::string> token_bytes, std::array<int32_t, 256> byte_ids,
           std::vector<Merge> merges);

  // Appends the tokens of one pre-tokenized piece to out.
  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;

  const std::string& bytes_of(int32_t id) const { return token_bytes_[id]; }
  size_t size() const { return token_bytes_.size(); }
  const std::vector<Merge>& merges() const { return merges_; }
  int32_t byte_id(uint8_t b) const { return byte_ids_[b]; }

 private:
  void merge_small(std::vector<int32_t>& ids) const;
  void merge_large(std::vector<int32_t>& ids) const;

  std::vector<std::string> token_bytes_;
  std::array<int32_t, 256> byte_ids_{};
  std::vector<Merge> merges_;
  PairMap ranks_;  // (left, right) -> (rank, merged)
};

}  // namespace tandem
