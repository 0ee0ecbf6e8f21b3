// The collectives of comm/: run alone (the single-process communicator) and under
// `mpirun -np 3` (ctest comm.mpi_collectives), where every rank checks the MPI world's sums against
// the order the interface promises: rank 0's value, then rank 1's, then rank 2's.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "tandem/backend/backend.h"
#include "tandem/comm/world.h"

namespace tandem {
namespace {

// A value that differs by rank and index, in magnitudes that make the order of a sum show; integer
// arithmetic and one exact scaling, so every rank computes every rank's value to the same bits.
float value_of(int rank, size_t i) {
  const float scale[] = {1.0f, 0x1p-24f, 3.0f, 0x1p26f};
  const uint32_t h = uint32_t(i) * 2654435761u ^ uint32_t(rank + 1) * 40503u;
  return float(int32_t(h % 2000001u) - 1000000) * 0x1p-20f * scale[(rank + i) % 4];
}

TEST(Communicator, SumsFloatsInRankOrder) {
  Communicator& comm = world();
  auto be = make_backend("cpu");
  for (size_t n : {size_t(1), size_t(2), size_t(7), size_t(1000), size_t(65537)}) {
    DeviceBuffer buf(*be, n * sizeof(float));
    std::vector<float> mine(n);
    for (size_t i = 0; i < n; ++i) mine[i] = value_of(comm.rank(), i);
    be->to_device(buf.as<float>(), mine.data(), n * sizeof(float));
    comm.all_reduce_sum(*be, buf.as<float>(), n);
    std::vector<float> got(n);
    be->to_host(got.data(), buf.as<float>(), n * sizeof(float));
    // Every rank's values first, then plain adds: a multiply-add the compiler fused into one
    // rounding would not be the sum the interface promises.
    std::vector<std::vector<float>> all(comm.size(), std::vector<float>(n));
    for (int r = 0; r < comm.size(); ++r)
      for (size_t i = 0; i < n; ++i) all[r][i] = value_of(r, i);
    for (size_t i = 0; i < n; ++i) {
      float want = all[0][i];
      for (int r = 1; r < comm.size(); ++r) want += all[r][i];
      ASSERT_EQ(std::memcmp(&got[i], &want, sizeof want), 0)
          << "n " << n << " element " << i << ": " << got[i] << " vs " << want;
    }
  }
}

// Pieces summed while other work goes on (start_sum, as backward hands over gradient buckets):
// every piece gets the bits of all_reduce_sum, with blocking collectives of the world in between,
// pieces of unequal sizes (one smaller than the rank count) and the pieces left pending for a
// while.
TEST(Communicator, OverlappedPiecesGiveTheWholeSumsBits) {
  Communicator& comm = world();
  auto be = make_backend("cpu");
  const std::vector<size_t> pieces = {65537, 2, 1000, 7, 300000};
  size_t n = 0;
  for (size_t p : pieces) n += p;
  std::vector<float> whole(n), split(n);
  for (size_t i = 0; i < n; ++i) whole[i] = split[i] = value_of(comm.rank(), i);
  comm.all_reduce_sum(*be, whole.data(), n);
  size_t at = 0;
  double checksum = 0;
  for (size_t p : pieces) {
    comm.start_sum(*be, split.data() + at, p);
    checksum += comm.all_reduce_sum(double(p));  // another collective while the piece is pending
    at += p;
  }
  comm.finish_sums();
  EXPECT_EQ(checksum, double(n) * comm.size());
  for (size_t i = 0; i < n; ++i)
    ASSERT_EQ(std::memcmp(&split[i], &whole[i], sizeof(float)), 0) << "element " << i;
}

TEST(Communicator, SumsDoublesInRankOrderAndAgrees) {
  Communicator& comm = world();
  const double mine = comm.rank() == 1 ? 1e-17 : 1.0 + comm.rank();
  double want = 1.0;
  for (int r = 1; r < comm.size(); ++r) want += r == 1 ? 1e-17 : 1.0 + r;
  EXPECT_EQ(comm.all_reduce_sum(mine), want);
  EXPECT_EQ(comm.any(comm.rank() == comm.size() - 1), true);
  EXPECT_EQ(comm.any(false), false);
}

TEST(Communicator, BroadcastsRankZerosText) {
  Communicator& comm = world();
  const std::string mine = comm.leader() ? "runs/x/checkpoints/step-000010" : "something else";
  EXPECT_EQ(comm.broadcast(mine), "runs/x/checkpoints/step-000010");
  EXPECT_EQ(comm.broadcast(comm.leader() ? std::string() : std::string("not empty")), "");
}

TEST(Communicator, CountsWhatItSends) {
  Communicator& comm = world();
  auto be = make_backend("cpu");
  const size_t n = 1200;
  DeviceBuffer buf(*be, n * sizeof(float));
  const CommTraffic before = comm.traffic();
  comm.all_reduce_sum(*be, buf.as<float>(), n);
  const CommTraffic after = comm.traffic();
  // Out and back in, all but this rank's own share: 2 (N-1)/N of the buffer.
  const int N = comm.size();
  const size_t mine = n * (comm.rank() + 1) / N - n * comm.rank() / N;
  EXPECT_EQ(after.bytes_sent - before.bytes_sent, N == 1 ? 0 : 2 * (n - mine) * sizeof(float));
}

}  // namespace
}  // namespace tandem
