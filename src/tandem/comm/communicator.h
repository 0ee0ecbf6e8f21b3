#pragma once
// How the processes of one training run talk: the seam data parallelism plugs into. Everything
// above it (the trainer, the optimizer step, token counts, metrics, which checkpoint to resume)
// calls these few collectives and never names a transport; a run of one process uses
// SingleProcess, whose collectives are identities. comm/world.h picks the process's communicator
// (MPI when launched by mpirun); an NCCL one (device memory) is what a GPU run adds.
//
// Every sum is taken in a fixed order (rank 0's value first, then rank 1's, ...), so a run gives
// the same bits each time, and N ranks holding one micro-batch each give the bits of one process
// that accumulates the same N micro-batches in that order (train/trainer.h).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tandem/backend/backend.h"

namespace tandem {

// Which part of an n-float buffer each rank owns: rank r the elements [begin[r], begin[r + 1]).
struct Shards {
  std::vector<size_t> begin;  // ranks + 1 offsets, from 0 to n
  size_t of(int r) const { return begin[r]; }
  size_t size(int r) const { return begin[r + 1] - begin[r]; }
  size_t total() const { return begin.back(); }
};
// n floats over `ranks`, in whole blocks of `block` floats (the last rank's may end short), as
// even as whole blocks allow.
Shards even_shards(size_t n, int ranks, size_t block = 1);

// What one rank has sent and how long it waited in collectives, since the start.
struct CommTraffic {
  uint64_t bytes_sent = 0;
  double wait_seconds = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;  // 0 .. size() - 1; rank 0 writes files and metrics
  virtual int size() const = 0;
  // Sums n floats of `be`'s memory over all ranks, in place, in rank order.
  virtual void all_reduce_sum(Backend& be, float* data, size_t n) = 0;
  // The float sum in pieces, overlapped with the caller's work: start_sum begins summing one
  // piece (a bucket of gradients that backward has finished) and returns; the piece must be left
  // alone until finish_sums(), which completes every piece started. The bits are all_reduce_sum's.
  // Every rank starts the same pieces in the same order. By default a piece is summed at once.
  virtual void start_sum(Backend& be, float* data, size_t n) { all_reduce_sum(be, data, n); }
  virtual void finish_sums() {}
  // Sums a host number over all ranks (losses, token counts), in rank order.
  virtual double all_reduce_sum(double value) = 0;
  // Sums host numbers elementwise over all ranks, in place, in rank order.
  virtual void all_reduce_sum(std::span<double> values) = 0;
  // The two halves of the float sum (ZeRO-1): after reduce_scatter_sum rank r's shard holds the
  // sum over ranks (the rest of its buffer is left as it was); all_gather copies every rank's
  // shard to all.
  virtual void reduce_scatter_sum(Backend& be, float* data, const Shards& shards) = 0;
  virtual void all_gather(Backend& be, float* data, const Shards& shards) = 0;
  // Host bytes from rank `root` to every rank: a decision only one rank may take (which
  // checkpoint to resume from) made once and shared.
  virtual void broadcast(void* data, size_t bytes, int root) = 0;
  // n host floats from every rank to rank `root`, which receives them rank after rank in `all`
  // (size() * n floats; ignored elsewhere): state that differs by rank, for a checkpoint.
  virtual void gather(const float* mine, size_t n, float* all, int root) = 0;
  virtual CommTraffic traffic() const { return {}; }

  bool leader() const { return rank() == 0; }
  // Whether any rank says yes (a stop request must be agreed, or ranks would part ways).
  bool any(bool yes) { return all_reduce_sum(yes ? 1.0 : 0.0) > 0; }
  // Returns on every rank once all have called it: what rank 0 wrote is there for all to read.
  void barrier() { all_reduce_sum(0.0); }
  // Rank 0's string, on every rank.
  std::string broadcast(std::string text);
  // Every rank's n numbers (n the same on all), rank after rank, on every rank. Exact (but for the
  // sign of a zero): it sums buffers that are zero outside each rank's slot, and x + 0 is x.
  std::vector<double> all_gather(std::span<const double> mine);
};

// One process: every collective returns its input.
class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_reduce_sum(Backend&, float*, size_t) override {}
  double all_reduce_sum(double value) override { return value; }
  void all_reduce_sum(std::span<double>) override {}
  void reduce_scatter_sum(Backend&, float*, const Shards&) override {}
  void all_gather(Backend&, float*, const Shards&) override {}
  void broadcast(void*, size_t, int) override {}
  void gather(const float* mine, size_t n, float* all, int) override {
    std::copy(mine, mine + n, all);
  }
};

// The communicator of a plain single-process run.
Communicator& single_process();

}  // namespace tandem
