#pragma once
// The communicator of this process. Launched by mpirun (or another MPI launcher: the environment
// names a world of more than one process), it is the MPI world, started on first use and
// finished at exit; otherwise the single-process one, and MPI is never started.
#include <memory>

#include "tandem/comm/communicator.h"

namespace tandem {

Communicator& world();

// The communicator for float collectives on `be`'s memory: nullptr when `host` serves (one
// process, or a host-memory backend over MPI), NCCL for the CUDA backend under mpirun (built with
// CUDA; its id travels over `host`, which also keeps carrying the host numbers).
std::unique_ptr<Communicator> make_device_communicator(Communicator& host, Backend& be);
// NCCL over `host`'s ranks for the CUDA backend `be`, whatever the rank count (tests); throws when
// built without CUDA.
std::unique_ptr<Communicator> make_nccl_communicator(Communicator& host, Backend& be);

// The number of processes the launcher started (1 without one), known without starting MPI.
int launched_world_size();

// Ends the whole job after an error on this rank: the other ranks would otherwise wait forever in
// their next collective. Returns (does nothing) when this process is not part of an MPI world.
void abort_world(int exit_code);

}  // namespace tandem
