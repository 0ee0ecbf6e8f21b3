#include "tandem/comm/communicator.h"

#include <algorithm>

namespace tandem {

std::string Communicator::broadcast(std::string text) {
  uint64_t n = text.size();
  broadcast(&n, sizeof n, 0);
  text.resize(n);
  broadcast(text.data(), n, 0);
  return text;
}

std::vector<double> Communicator::all_gather(std::span<const double> mine) {
  std::vector<double> all(size() * mine.size(), 0.0);
  std::copy(mine.begin(), mine.end(), all.begin() + ptrdiff_t(rank() * mine.size()));
  all_reduce_sum(all);
  return all;
}

Shards even_shards(size_t n, int ranks, size_t block) {
  const size_t blocks = (n + block - 1) / block;
  Shards s;
  for (int r = 0; r <= ranks; ++r)
    s.begin.push_back(std::min(n, blocks * size_t(r) / size_t(ranks) * block));
  return s;
}

Communicator& single_process() {
  static SingleProcess instance;
  return instance;
}

}  // namespace tandem
