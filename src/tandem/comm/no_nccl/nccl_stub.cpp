// Built without CUDA: host memory travels over MPI (the host communicator itself); a device
// backend under mpirun has no transport.
#include <fmt/format.h>

#include "tandem/comm/world.h"
#include "tandem/core/error.h"

namespace tandem {

std::unique_ptr<Communicator> make_nccl_communicator(Communicator&, Backend& be) {
  throw Error(fmt::format("[comm] this tandem was built without CUDA, so without NCCL: the {} "
                          "backend cannot run under mpirun", be.name()));
}

std::unique_ptr<Communicator> make_device_communicator(Communicator& host, Backend& be) {
  if (host.size() <= 1 || be.host_memory()) return nullptr;
  return make_nccl_communicator(host, be);
}

}  // namespace tandem
