#pragma once
// A training batch as the model takes it: B rows of T tokens and the token each position should
// predict (-1: no loss there, e.g. prompt tokens and padding).
#include <cstdint>
#include <vector>

namespace tandem {

struct Batch {
  int B = 0, T = 0;
  std::vector<int32_t> ids;      // (B, T)
  std::vector<int32_t> targets;  // (B, T); -1 where no loss is taken
};

}  // namespace tandem
