#pragma once
// Sequence packing: examples laid end to end in rows of exactly T tokens, no padding. Each row
// says where its documents start (Batch::pos), so attention and positions keep to each document
// (Backend::attention_forward). An example longer than what is left of a row continues at the
// start of the next row, as a new context; every (token, next token) pair of the stream is in
// exactly one row, so no loss target is lost at a cut.
//
// Unlike unpacked rows, packed row g depends on the lengths of every example before it, so the
// data position is a cursor (which example, which token of it) that checkpoints carry beside the
// batch count (recipes/sft_state.h). Batches are produced in order; asking for a later batch
// skips the ones between (a rollback that skips bad batches).
#include <cstdint>

#include "tandem/data/batch.h"
#include "tandem/data/sft_batches.h"

namespace tandem {

class Packer {
 public:
  struct Position {
    int64_t batch = 0;     // the batch next() makes next
    uint64_t example = 0;  // its first token comes from this example of the source ...
    uint64_t offset = 0;   // ... at this input position
  };

  // Batches of `rows` rows of T tokens from the source's examples 0, 1, 2, ...
  Packer(const ExampleSource& source, int rows, int T);

  // Batch `index` (>= position().batch; the batches before it are made and dropped).
  Batch batch(int64_t index);
  const Position& position() const { return at_; }
  void seek(const Position& p);

 private:
  void load();  // cur_ <- the example at at_.example, moving past ones with nothing to learn

  const ExampleSource& source_;
  int rows_, T_;
  Position at_;
  Example cur_;
  bool loaded_ = false;
};

// Rows [first, first + n) of a batch, as a batch (one rank's or one micro-batch's share).
Batch batch_rows(const Batch& batch, int first, int n);

}  // namespace tandem
