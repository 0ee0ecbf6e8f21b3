// MPI (host memory; device memory is staged through the host). Sums are ordered by rank, never
// left to the MPI library's choice of algorithm: each rank owns a contiguous chunk of the buffer,
// receives every rank's copy of that chunk (all-to-all), adds them in rank order, and the summed
// chunks are gathered back (all-gather). That moves (N-1)/N of the buffer out and in twice, as a
// ring all-reduce does, and the bits do not depend on the library, the network or N's layout.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "tandem/comm/world.h"
#include "tandem/core/error.h"

namespace tandem {

namespace {

using Clock = std::chrono::steady_clock;

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void all_reduce_sum(Backend& be, float* data, size_t n) override {
    if (n == 0) return;
    float* host = data;
    if (!be.host_memory()) {
      staging_.resize(n);
      be.to_host(staging_.data(), data, n * sizeof(float));
      host = staging_.data();
    }
    const auto t0 = Clock::now();
    std::vector<int> counts(size_), displs(size_);
    for (int r = 0; r < size_; ++r) {
      displs[r] = int(chunk_begin(n, r));
      counts[r] = int(chunk_begin(n, r + 1) - chunk_begin(n, r));
    }
    TANDEM_CHECK(n <= size_t(INT32_MAX) * size_t(size_) / 2,
                 "[comm] {} floats is more than one all-reduce handles", n);
    const int mine = counts[rank_];
    // Every rank's copy of my chunk, rank after rank.
    received_.resize(size_t(mine) * size_);
    std::vector<int> recv_counts(size_, mine), recv_displs(size_);
    for (int r = 0; r < size_; ++r) recv_displs[r] = r * mine;
    MPI_Alltoallv(host, counts.data(), displs.data(), MPI_FLOAT, received_.data(),
                  recv_counts.data(), recv_displs.data(), MPI_FLOAT, MPI_COMM_WORLD);
    float* out = host + displs[rank_];
    std::memcpy(out, received_.data(), size_t(mine) * sizeof(float));
    for (int r = 1; r < size_; ++r) {
      const float* in = received_.data() + size_t(r) * mine;
      for (int i = 0; i < mine; ++i) out[i] += in[i];
    }
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, host, counts.data(), displs.data(), MPI_FLOAT,
                   MPI_COMM_WORLD);
    account(t0, 2 * (n - size_t(mine)) * sizeof(float));
    if (!be.host_memory()) be.to_device(data, staging_.data(), n * sizeof(float));
  }

  double all_reduce_sum(double value) override {
    const auto t0 = Clock::now();
    std::vector<double> all(size_);
    MPI_Allgather(&value, 1, MPI_DOUBLE, all.data(), 1, MPI_DOUBLE, MPI_COMM_WORLD);
    account(t0, sizeof(double) * (size_ - 1));
    double sum = all[0];
    for (int r = 1; r < size_; ++r) sum += all[r];
    return sum;
  }

  void broadcast(void* data, size_t bytes, int root) override {
    const auto t0 = Clock::now();
    TANDEM_CHECK(bytes <= size_t(INT32_MAX), "[comm] broadcast of {} bytes is too large", bytes);
    MPI_Bcast(data, int(bytes), MPI_BYTE, root, MPI_COMM_WORLD);
    account(t0, rank_ == root ? bytes * (size_ - 1) : 0);
  }

  CommTraffic traffic() const override { return traffic_; }

 private:
  size_t chunk_begin(size_t n, int r) const { return n * size_t(r) / size_t(size_); }
  void account(Clock::time_point t0, size_t bytes) {
    traffic_.bytes_sent += bytes;
    traffic_.wait_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    ++traffic_.collectives;
  }

  int rank_ = 0, size_ = 1;
  CommTraffic traffic_;
  std::vector<float> staging_, received_;
};

std::unique_ptr<MpiCommunicator>& mpi_world() {
  static std::unique_ptr<MpiCommunicator> world;
  return world;
}

}  // namespace

// The world size an MPI launcher announces (OpenMPI, then the PMI variables of MPICH and Slurm).
int launched_world_size() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"})
    if (const char* v = std::getenv(var)) return std::max(1, std::atoi(v));
  return 1;
}

Communicator& world() {
  if (launched_world_size() <= 1) return single_process();
  auto& w = mpi_world();
  if (!w) w = std::make_unique<MpiCommunicator>();
  return *w;
}

void abort_world(int exit_code) {
  if (!mpi_world()) return;
  MPI_Abort(MPI_COMM_WORLD, exit_code);
}

}  // namespace tandem
