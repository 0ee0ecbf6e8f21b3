// MPI (host memory; device memory is staged through the host). Sums are ordered by rank, never
// left to the MPI library's choice of algorithm: each rank owns a contiguous chunk of the buffer,
// receives every rank's copy of that chunk (all-to-all), adds them in rank order, and the summed
// chunks are gathered back (all-gather). That moves (N-1)/N of the buffer out and in twice, as a
// ring all-reduce does, and the bits do not depend on the library, the network or N's layout.
// Overlapped sums (start_sum) take the same two steps with non-blocking collectives, each step on
// its own duplicate of the world: MPI matches collectives by the order they are started, and a
// piece's all-gather starts whenever its all-to-all completes, which differs between ranks.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "tandem/comm/world.h"
#include "tandem/core/clock.h"
#include "tandem/core/error.h"

namespace tandem {

namespace {

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    // Test hooks: a slow link for the float sums (the bulk transfers; host numbers are not
    // slowed): a latency per sum (TANDEM_COMM_DELAY_MS) and a bandwidth (TANDEM_COMM_GBPS) that
    // one transfer at a time uses. docs/distributed.md measures with them.
    if (const char* d = std::getenv("TANDEM_COMM_DELAY_MS")) delay_ms_ = std::max(0, std::atoi(d));
    if (const char* g = std::getenv("TANDEM_COMM_GBPS")) link_gbps_ = std::max(0.0, std::atof(g));
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm_dup(MPI_COMM_WORLD, &scatter_comm_);
    MPI_Comm_dup(MPI_COMM_WORLD, &gather_comm_);
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized) return;
    MPI_Comm_free(&scatter_comm_);
    MPI_Comm_free(&gather_comm_);
    MPI_Finalize();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void all_reduce_sum(Backend& be, float* data, size_t n) override {
    if (n == 0) return;
    const Shards shards = even_shards(n, size_);
    float* host = stage_in(be, data, n);
    slow_link(sent_by_sum(shards));
    reduce_scatter_host(host, shards);
    all_gather_host(host, shards);
    stage_out(be, data, n);
  }

  // Device memory (staged through one host buffer) is summed at once.
  void start_sum(Backend& be, float* data, size_t n) override {
    if (!be.host_memory() || n == 0) return all_reduce_sum(be, data, n);
    const auto t0 = Clock::now();
    auto p = std::make_unique<Piece>();
    p->host = data, p->shards = even_shards(n, size_);
    p->counts = counts_of(p->shards, p->displs);
    const int mine = p->counts[rank_];
    p->received.resize(size_t(mine) * size_);
    p->recv_counts.assign(size_, mine);
    for (int r = 0; r < size_; ++r) p->recv_displs.push_back(r * mine);
    p->ready_at = link_done(t0, sent_by_sum(p->shards));
    MPI_Ialltoallv(data, p->counts.data(), p->displs.data(), MPI_FLOAT, p->received.data(),
                   p->recv_counts.data(), p->recv_displs.data(), MPI_FLOAT, scatter_comm_,
                   &p->request);
    pieces_.push_back(std::move(p));
    advance(false);
    account(t0, 0);
  }

  void finish_sums() override {
    if (pieces_.empty()) return;
    const auto t0 = Clock::now();
    advance(true);
    size_t bytes = 0;
    for (const auto& p : pieces_) {
      std::this_thread::sleep_until(p->ready_at);  // the slow-link hook's latency, if unmet
      bytes += sent_by_sum(p->shards);
    }
    pieces_.clear();
    account(t0, bytes);
  }

  void reduce_scatter_sum(Backend& be, float* data, const Shards& shards) override {
    const size_t n = shards.total();
    float* host = stage_in(be, data, n);
    slow_link(sent_by_sum(shards) / 2);
    reduce_scatter_host(host, shards);
    stage_out(be, data, n);
  }

  void all_gather(Backend& be, float* data, const Shards& shards) override {
    const size_t n = shards.total();
    all_gather_host(stage_in(be, data, n), shards);
    stage_out(be, data, n);
  }

  void all_reduce_sum(std::span<double> values) override {
    const auto t0 = Clock::now();
    const size_t k = values.size();
    std::vector<double> all(k * size_);
    MPI_Allgather(values.data(), int(k), MPI_DOUBLE, all.data(), int(k), MPI_DOUBLE, MPI_COMM_WORLD);
    account(t0, sizeof(double) * k * (size_ - 1));
    for (size_t i = 0; i < k; ++i) {
      double sum = all[i];
      for (int r = 1; r < size_; ++r) sum += all[size_t(r) * k + i];
      values[i] = sum;
    }
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

  void gather(const float* mine, size_t n, float* all, int root) override {
    const auto t0 = Clock::now();
    TANDEM_CHECK(n <= size_t(INT32_MAX), "[comm] gather of {} floats is too large", n);
    MPI_Gather(mine, int(n), MPI_FLOAT, all, int(n), MPI_FLOAT, root, MPI_COMM_WORLD);
    account(t0, rank_ == root ? 0 : n * sizeof(float));
  }

  CommTraffic traffic() const override { return traffic_; }

 private:
  // One overlapped sum: all-to-all of the chunks, the ordered add of mine, all-gather.
  struct Piece {
    float* host = nullptr;
    Shards shards;
    std::vector<int> counts, displs, recv_counts, recv_displs;
    std::vector<float> received;
    MPI_Request request = MPI_REQUEST_NULL;
    bool gathering = false, done = false;
    Clock::time_point ready_at;
  };

  // Moves the pieces on (to the end, when `wait`). All-gathers start in the pieces' order on
  // every rank: a piece waits for the all-to-all of every piece before it.
  void advance(bool wait) {
    bool in_order = true;
    for (auto& p : pieces_) {
      if (p->done) continue;
      int complete = 0;
      if (wait) MPI_Wait(&p->request, MPI_STATUS_IGNORE), complete = 1;
      else MPI_Test(&p->request, &complete, MPI_STATUS_IGNORE);
      if (p->gathering) {
        p->done = complete != 0;
        continue;
      }
      if (!complete || !in_order) {
        in_order = false;
        continue;
      }
      add_in_rank_order(p->host + p->displs[rank_], p->received.data(), p->counts[rank_]);
      p->gathering = true;
      MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, p->host, p->counts.data(), p->displs.data(),
                      MPI_FLOAT, gather_comm_, &p->request);
      if (wait) MPI_Wait(&p->request, MPI_STATUS_IGNORE), p->done = true;
    }
  }

  // Device memory goes through a host copy; host memory is used in place.
  float* stage_in(Backend& be, float* data, size_t n) {
    if (be.host_memory()) return data;
    staging_.resize(n);
    be.to_host(staging_.data(), data, n * sizeof(float));
    return staging_.data();
  }
  void stage_out(Backend& be, float* data, size_t n) {
    if (!be.host_memory()) be.to_device(data, staging_.data(), n * sizeof(float));
  }

  static std::vector<int> counts_of(const Shards& s, std::vector<int>& displs) {
    const int ranks = int(s.begin.size()) - 1;
    std::vector<int> counts(ranks);
    displs.resize(ranks);
    for (int r = 0; r < ranks; ++r) {
      TANDEM_CHECK(s.of(r + 1) <= size_t(INT32_MAX), "[comm] a buffer of {} floats is too large",
                   s.total());
      displs[r] = int(s.of(r)), counts[r] = int(s.size(r));
    }
    return counts;
  }

  // out = received rank 0's chunk + rank 1's + ... (each `mine` floats), in that order.
  void add_in_rank_order(float* out, const float* received, int mine) const {
    std::memcpy(out, received, size_t(mine) * sizeof(float));
    for (int r = 1; r < size_; ++r) {
      const float* in = received + size_t(r) * mine;
      for (int i = 0; i < mine; ++i) out[i] += in[i];
    }
  }

  // Every rank's copy of my shard arrives (all-to-all), and I add them in rank order.
  void reduce_scatter_host(float* host, const Shards& shards) {
    TANDEM_CHECK(int(shards.begin.size()) == size_ + 1, "[comm] shards for {} ranks in a world of {}",
                 shards.begin.size() - 1, size_);
    const auto t0 = Clock::now();
    std::vector<int> displs;
    const std::vector<int> counts = counts_of(shards, displs);
    const int mine = counts[rank_];
    received_.resize(size_t(mine) * size_);
    std::vector<int> recv_counts(size_, mine), recv_displs(size_);
    for (int r = 0; r < size_; ++r) recv_displs[r] = r * mine;
    MPI_Alltoallv(host, counts.data(), displs.data(), MPI_FLOAT, received_.data(),
                  recv_counts.data(), recv_displs.data(), MPI_FLOAT, MPI_COMM_WORLD);
    add_in_rank_order(host + displs[rank_], received_.data(), mine);
    account(t0, (shards.total() - size_t(mine)) * sizeof(float));
  }

  void all_gather_host(float* host, const Shards& shards) {
    const auto t0 = Clock::now();
    std::vector<int> displs;
    const std::vector<int> counts = counts_of(shards, displs);
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, host, counts.data(), displs.data(), MPI_FLOAT,
                   MPI_COMM_WORLD);
    account(t0, size_t(counts[rank_]) * (size_ - 1) * sizeof(float));
  }

  // What this rank sends to sum a buffer so split: the others' chunks out, then its chunk to
  // every other rank.
  size_t sent_by_sum(const Shards& s) const {
    const size_t mine = s.size(rank_);
    return (s.total() - mine + mine * size_t(size_ - 1)) * sizeof(float);
  }
  // When a transfer of `bytes` started at t0 ends on the simulated link: after the transfers
  // before it, its own time at link_gbps_, and the latency.
  Clock::time_point link_done(Clock::time_point t0, size_t bytes) {
    if (link_gbps_ > 0) {
      link_free_ = std::max(link_free_, t0) + std::chrono::duration_cast<Clock::duration>(
                                                   std::chrono::duration<double>(
                                                       double(bytes) * 8 / (link_gbps_ * 1e9)));
      t0 = link_free_;
    }
    return t0 + std::chrono::milliseconds(delay_ms_);
  }
  void slow_link(size_t bytes) {
    if (delay_ms_ <= 0 && link_gbps_ <= 0) return;
    const auto t0 = Clock::now();
    std::this_thread::sleep_until(link_done(t0, bytes));
    account(t0, 0);
  }
  void account(Clock::time_point t0, size_t bytes) {
    traffic_.bytes_sent += bytes;
    traffic_.wait_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
  }

  int rank_ = 0, size_ = 1;
  int delay_ms_ = 0;
  double link_gbps_ = 0;
  Clock::time_point link_free_{};  // when the simulated link has carried every transfer so far
  MPI_Comm scatter_comm_ = MPI_COMM_NULL, gather_comm_ = MPI_COMM_NULL;
  std::vector<std::unique_ptr<Piece>> pieces_;
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
