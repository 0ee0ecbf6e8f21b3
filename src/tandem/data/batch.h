#pragma once
// A training batch as the model takes it: B rows of T tokens and the token each position should
// predict (-1: no loss there, e.g. prompt tokens and padding). A packed batch (data/packing.h)
// holds several documents per row and says where each starts: pos counts 0, 1, 2, ... from each
// document's first token, and attention keeps to the document.
#include <cstdint>
#include <vector>

namespace tandem {

struct Batch {
  int B = 0, T = 0;
  std::vector<int32_t> ids;      // (B, T)
  std::vector<int32_t> targets;  // (B, T); -1 where no loss is taken
  std::vector<int32_t> pos;      // (B, T) when packed; empty: one sequence per row
};

}  // namespace tandem
