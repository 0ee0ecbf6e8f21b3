#include "tandem/tokenizer/bpe.h"

#include <queue>

namespace tandem {

BpeModel::BpeModel(std::vector<std::string> token_bytes, std::array<int32_t, 256> byte_ids,
                   std::vector<Merge> merges)
    : token_bytes_(std::move(token_bytes)), byte_ids_(byte_ids), merges_(std::move(merges)) {
  ranks_.reserve(merges_.size());
  for (size_t r = 0; r < merges_.size(); ++r)
    ranks_.insert(merges_[r].left, merges_[r].right,
                  {static_cast<int32_t>(r), merges_[r].merged});
}

void BpeModel::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
  std::vector<int32_t> ids(piece.size());
  for (size_t i = 0; i < piece.size(); ++i) ids[i] = byte_ids_[static_cast<uint8_t>(piece[i])];
  // Short pieces (most words) merge fastest by rescanning; long ones use a heap.
  if (ids.size() <= 32) {
    merge_small(ids);
  } else {
    merge_large(ids);
  }
  out.insert(out.end(), ids.begin(), ids.end());
}

void BpeModel::merge_small(std::vector<int32_t>& ids) const {
  if (ids.size() < 2) return;
  // ranks[i] is the rank of the pair (ids[i], ids[i+1]); kept in step with ids.
  int32_t ranks[32];
  int32_t merged[32];
  size_t n = ids.size();
  for (size_t i = 0; i + 1 < n; ++i) {
    const auto v = ranks_.find(ids[i], ids[i + 1]);
    ranks[i] = v.rank < 0 ? INT32_MAX : v.rank;
    merged[i] = v.merged;
  }
  while (n > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < n; ++i)
      if (ranks[i] < ranks[best]) best = i;
    if (ranks[best] == INT32_MAX) break;
    ids[best] = merged[best];
    for (size_t i = best + 1; i + 1 < n; ++i) {
      ids[i] = ids[i + 1];
      ranks[i] = ranks[i + 1];
      merged[i] = merged[i + 1];
    }
    --n;
    if (best > 0) {
      const auto v = ranks_.find(ids[best - 1], ids[best]);
      ranks[best - 1] = v.rank < 0 ? INT32_MAX : v.rank;
      merged[best - 1] = v.merged;
    }
    if (best + 1 < n) {
      const auto v = ranks_.find(ids[best], ids[best + 1]);
      ranks[best] = v.rank < 0 ? INT32_MAX : v.rank;
      merged[best] = v.merged;
    }
  }
  ids.resize(n);
}

void BpeModel::merge_large(std::vector<int32_t>& ids) const {
  const size_t n = ids.size();
  std::vector<int32_t> next(n), prev(n);
  for (size_t i = 0; i < n; ++i) {
    next[i] = i + 1 < n ? static_cast<int32_t>(i + 1) : -1;
    prev[i] = static_cast<int32_t>(i) - 1;
  }
  struct Cand {
    int32_t rank, pos, left, right, merged;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Cand, std::vector<Cand>, std::greater<>> heap;
  auto push = [&](int32_t pos) {
    if (pos < 0 || next[pos] < 0) return;
    const auto v = ranks_.find(ids[pos], ids[next[pos]]);
    if (v.rank >= 0) heap.push({v.rank, pos, ids[pos], ids[next[pos]], v.merged});
  };
  for (size_t i = 0; i + 1 < n; ++i) push(static_cast<int32_t>(i));
  std::vector<bool> alive(n, true);
  while (!heap.empty()) {
    const Cand c = heap.top();
    heap.pop();
    // Stale entries no longer describe the pair at pos; skip them.
    if (!alive[c.pos] || next[c.pos] < 0 || ids[c.pos] != c.left || ids[next[c.pos]] != c.right)
      continue;
    const int32_t r = next[c.pos];
    ids[c.pos] = c.merged;
    alive[r] = false;
    next[c.pos] = next[r];
    if (next[r] >= 0) prev[next[r]] = c.pos;
    push(prev[c.pos]);
    push(c.pos);
  }
  size_t w = 0;
  for (int32_t i = 0; i >= 0; i = next[i]) ids[w++] = ids[i];
  ids.resize(w);
}

}  // namespace tandem
