// NCCL (device memory) for the float collectives of a CUDA run under mpirun; the host's MPI world
// carries everything else, and NCCL's unique id. Sums keep the rank order of comm/: the shards
// travel by grouped point-to-point sends (an all-to-all), each rank adds the copies of its shard
// in rank order with the backend's own kernels (copy, add), and the shards travel back. NCCL's
// all-reduce is never used: its order depends on the ring or tree it picks.
//
// Host memory (a checkpoint's gathered moments) goes over the host communicator. One GPU per rank: the backend's device (device 0 of the rank's CUDA_VISIBLE_DEVICES). NCCL works
// on a stream of its own; each collective first waits for the backend's queued work and ends with
// its stream drained, so callers see ordinary blocking collectives.
#include <cuda_runtime.h>
#include <nccl.h>

#include <chrono>
#include <memory>

#include "tandem/comm/world.h"
#include "tandem/core/clock.h"
#include "tandem/core/error.h"

namespace tandem {

namespace {

void nccl_check(ncclResult_t r, const char* what) {
  TANDEM_CHECK(r == ncclSuccess, "[comm] NCCL {}: {}", what, ncclGetErrorString(r));
}
void cuda_check(cudaError_t r, const char* what) {
  TANDEM_CHECK(r == cudaSuccess, "[comm] CUDA {}: {}", what, cudaGetErrorString(r));
}

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(Communicator& host, Backend& be) : host_(host), be_(be) {
    ncclUniqueId id{};
    if (host.leader()) nccl_check(ncclGetUniqueId(&id), "unique id");
    host.broadcast(&id, sizeof id, 0);
    nccl_check(ncclCommInitRank(&comm_, host.size(), id, host.rank()), "init");
    cuda_check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "stream");
  }
  ~NcclCommunicator() override {
    if (stream_) cudaStreamDestroy(stream_);
    if (comm_) ncclCommDestroy(comm_);
  }

  int rank() const override { return host_.rank(); }
  int size() const override { return host_.size(); }
  double all_reduce_sum(double value) override { return host_.all_reduce_sum(value); }
  void all_reduce_sum(std::span<double> values) override { host_.all_reduce_sum(values); }
  void broadcast(void* data, size_t bytes, int root) override { host_.broadcast(data, bytes, root); }
  void gather(const float* mine, size_t n, float* all, int root) override {
    host_.gather(mine, n, all, root);
  }

  void all_reduce_sum(Backend& be, float* data, size_t n) override {
    if (be.host_memory()) return host_.all_reduce_sum(be, data, n);
    if (n == 0) return;
    const Shards shards = even_shards(n, size());
    reduce_scatter_sum(be, data, shards);
    all_gather(be, data, shards);
  }

  void reduce_scatter_sum(Backend& be, float* data, const Shards& shards) override {
    if (be.host_memory()) return host_.reduce_scatter_sum(be, data, shards);
    check_backend(be);
    const auto t0 = Clock::now();
    const int me = rank(), N = size();
    const size_t mine = shards.size(me);
    if (scratch_.bytes() < mine * N * sizeof(float))
      scratch_ = DeviceBuffer(be, mine * N * sizeof(float));
    float* slots = scratch_.as<float>();  // slot r: rank r's copy of my shard
    be.synchronize();
    nccl_check(ncclGroupStart(), "group");
    size_t sent = 0;
    for (int r = 0; r < N; ++r) {
      if (r == me) continue;
      if (shards.size(r) > 0) {
        nccl_check(ncclSend(data + shards.of(r), shards.size(r), ncclFloat, r, comm_, stream_), "send");
        sent += shards.size(r) * sizeof(float);
      }
      if (mine > 0)
        nccl_check(ncclRecv(slots + size_t(r) * mine, mine, ncclFloat, r, comm_, stream_), "recv");
    }
    nccl_check(ncclGroupEnd(), "group");
    cuda_check(cudaStreamSynchronize(stream_), "sync");
    if (mine > 0) {
      float* out = data + shards.of(me);
      // out (my own copy, slot `me`) becomes slot 0 + slot 1 + ... in rank order.
      if (me != 0) {
        be.copy(slots + size_t(me) * mine, out, mine * sizeof(float));
        be.copy(out, slots, mine * sizeof(float));
      }
      for (int r = 1; r < N; ++r) be.add(out, slots + size_t(r) * mine, mine);
      be.synchronize();
    }
    account(t0, sent);
  }

  void all_gather(Backend& be, float* data, const Shards& shards) override {
    if (be.host_memory()) return host_.all_gather(be, data, shards);
    check_backend(be);
    const auto t0 = Clock::now();
    const int me = rank(), N = size();
    be.synchronize();
    nccl_check(ncclGroupStart(), "group");
    for (int r = 0; r < N; ++r) {
      if (r == me) continue;
      if (shards.size(me) > 0)
        nccl_check(ncclSend(data + shards.of(me), shards.size(me), ncclFloat, r, comm_, stream_), "send");
      if (shards.size(r) > 0)
        nccl_check(ncclRecv(data + shards.of(r), shards.size(r), ncclFloat, r, comm_, stream_), "recv");
    }
    nccl_check(ncclGroupEnd(), "group");
    cuda_check(cudaStreamSynchronize(stream_), "sync");
    account(t0, shards.size(me) * sizeof(float) * (N - 1));
  }

  CommTraffic traffic() const override {
    CommTraffic t = host_.traffic();
    t.bytes_sent += traffic_.bytes_sent, t.wait_seconds += traffic_.wait_seconds;
    return t;
  }

 private:
  void check_backend(const Backend& be) const {
    TANDEM_CHECK(&be == &be_, "[comm] this NCCL communicator serves the backend it was made for");
  }
  void account(Clock::time_point t0, size_t bytes) {
    traffic_.bytes_sent += bytes;
    traffic_.wait_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
  }

  Communicator& host_;
  Backend& be_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  DeviceBuffer scratch_;
  CommTraffic traffic_;
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(Communicator& host, Backend& be) {
  TANDEM_CHECK(be.name() == "cuda", "[comm] NCCL serves the cuda backend, not {}", be.name());
  return std::make_unique<NcclCommunicator>(host, be);
}

std::unique_ptr<Communicator> make_device_communicator(Communicator& host, Backend& be) {
  if (host.size() <= 1 || be.host_memory()) return nullptr;
  return make_nccl_communicator(host, be);
}

}  // namespace tandem
