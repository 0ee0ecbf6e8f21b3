#pragma once
// Where a checkpointed run starts, the same for every recipe: a fresh run needs a checkpoints
// folder without an earlier run's checkpoints (unless told to resume it); a resumed run takes the
// newest checkpoint that verifies, setting damaged newer ones aside, and says what it skipped.
#include <optional>

#include "tandem/core/reporter.h"
#include "tandem/train/checkpoint_manager.h"

namespace tandem {

// Locks the folder for this process. Returns the checkpoint to restore, or none for a fresh start
// (which `resume` allows when there is nothing valid to resume). Throws ConfigError when a fresh
// run would mix with an earlier one.
std::optional<CheckpointRef> start_point(CheckpointManager& checkpoints, bool resume,
                                         Reporter& reporter);

}  // namespace tandem
