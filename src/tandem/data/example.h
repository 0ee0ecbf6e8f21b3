#pragma once
// A supervised training example: a token sequence and which of its tokens carry loss. The batch
// builder turns it into inputs (every token but the last) and targets (the next token where it
// carries loss, else -1).
#include <cstdint>
#include <vector>

namespace tandem {

struct Example {
  std::vector<int32_t> tokens;
  std::vector<uint8_t> loss;  // loss[t] != 0: token t is predicted (from tokens[..t]) with loss

  // Appends tokens that all carry loss, or all do not.
  void append(const std::vector<int32_t>& more, bool with_loss) {
    tokens.insert(tokens.end(), more.begin(), more.end());
    loss.insert(loss.end(), more.size(), with_loss ? 1 : 0);
  }
  // Drops trailing tokens that carry no loss: nothing is learnt from them.
  void trim() {
    while (!loss.empty() && !loss.back()) tokens.pop_back(), loss.pop_back();
  }
  bool has_loss() const {
    for (uint8_t l : loss)
      if (l) return true;
    return false;
  }
};

}  // namespace tandem
