// The NCCL communicator through the comm/ interface, one rank (the device machine has one GPU):
// device buffers round-trip every float collective with their bits, host memory goes over the
// host communicator, and the backend's later kernels see the results. Skipped without a GPU;
// without CUDA in the build, asking for NCCL is a clear error.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "support/expect_error.h"
#include "tandem/backend/factories.h"
#include "tandem/comm/world.h"

namespace tandem {
namespace {

TEST(Nccl, OneRankRoundTripsDeviceBuffers) {
  if (!cuda_backend_available()) GTEST_SKIP() << "no CUDA device: skipped";
  auto be = make_backend("cuda");
  std::unique_ptr<Communicator> nccl = make_nccl_communicator(single_process(), *be);
  ASSERT_EQ(nccl->size(), 1);
  for (size_t n : {size_t(1), size_t(1000), size_t(1) << 20}) {
    std::vector<float> host(n);
    for (size_t i = 0; i < n; ++i) host[i] = float(i % 977) * 0.125f - 3.0f;
    DeviceBuffer buf(*be, n * sizeof(float));
    be->to_device(buf.as<float>(), host.data(), n * sizeof(float));
    nccl->all_reduce_sum(*be, buf.as<float>(), n);
    const Shards s = even_shards(n, 1, 1 << 16);
    nccl->reduce_scatter_sum(*be, buf.as<float>(), s);
    nccl->all_gather(*be, buf.as<float>(), s);
    be->add(buf.as<float>(), buf.as<float>(), n);  // the backend's stream sees the result
    std::vector<float> got(n);
    be->to_host(got.data(), buf.as<float>(), n * sizeof(float));
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(got[i], 2 * host[i]) << "n " << n << " element " << i;
  }
  EXPECT_EQ(nccl->all_reduce_sum(2.5), 2.5);
  EXPECT_EQ(nccl->traffic().bytes_sent, 0u);  // nothing leaves one rank
}

TEST(Nccl, HostMemoryGoesOverTheHostCommunicator) {
  if (!cuda_backend_available()) GTEST_SKIP() << "no CUDA device: skipped";
  auto gpu = make_backend("cuda");
  auto cpu = make_backend("cpu");
  std::unique_ptr<Communicator> nccl = make_nccl_communicator(single_process(), *gpu);
  std::vector<float> x = {1.0f, -2.0f, 0.5f};
  nccl->all_reduce_sum(*cpu, x.data(), x.size());
  EXPECT_EQ(x, (std::vector<float>{1.0f, -2.0f, 0.5f}));
}

TEST(Nccl, NoTransportForADeviceWithoutIt) {
  auto cpu = make_backend("cpu");
  EXPECT_EQ(make_device_communicator(single_process(), *cpu), nullptr);  // one process
  test::expect_error([&] { make_nccl_communicator(single_process(), *cpu); }, {"NCCL"});
}

}  // namespace
}  // namespace tandem
