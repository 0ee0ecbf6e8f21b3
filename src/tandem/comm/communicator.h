#pragma once
// How the processes of one training run talk: the seam data parallelism plugs into. Everything
// above it (the optimizer step, token counts, metrics) calls these few collectives and never
// names a transport; a run of one process uses SingleProcess, whose collectives are identities.
// An MPI implementation (host memory) and an NCCL one (device memory) are what a multi-process
// run adds; nothing else changes.
#include <cstddef>

#include "tandem/backend/backend.h"

namespace tandem {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;  // 0 .. size() - 1; rank 0 writes files and metrics
  virtual int size() const = 0;
  // Sums n floats of `be`'s device memory over all ranks, in place, in a fixed order.
  virtual void all_reduce_sum(Backend& be, float* data, size_t n) = 0;
  // Sums a host number over all ranks (losses, token counts).
  virtual double all_reduce_sum(double value) = 0;
};

// One process: every collective returns its input.
class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_reduce_sum(Backend&, float*, size_t) override {}
  double all_reduce_sum(double value) override { return value; }
};

// The communicator of a plain single-process run.
Communicator& single_process();

}  // namespace tandem
