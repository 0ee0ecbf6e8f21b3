#pragma once
// The communicator of this process. Launched by mpirun (or another MPI launcher: the environment
// names a world of more than one process), it is the MPI world, started on first use and
// finished at exit; otherwise the single-process one, and MPI is never started.
#include "tandem/comm/communicator.h"

namespace tandem {

Communicator& world();

// The number of processes the launcher started (1 without one), known without starting MPI.
int launched_world_size();

// Ends the whole job after an error on this rank: the other ranks would otherwise wait forever in
// their next collective. Returns (does nothing) when this process is not part of an MPI world.
void abort_world(int exit_code);

}  // namespace tandem
