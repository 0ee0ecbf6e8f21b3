#include "tandem/recipes/run_start.h"

#include <fmt/format.h>

#include "tandem/core/error.h"

namespace tandem {

std::optional<CheckpointRef> start_point(CheckpointManager& checkpoints, bool resume,
                                         Reporter& reporter) {
  checkpoints.lock();
  if (!resume) {
    const auto existing = checkpoints.list();
    if (!existing.empty())
      config_fail("{}: holds checkpoints of an earlier run; pass `resume` to continue it (from "
                  "step {}), or choose another `out_dir`",
                  checkpoints.root(), existing.back().step);
    checkpoints.remove_temporaries();
    return std::nullopt;
  }
  const CheckpointManager::Choice c = checkpoints.prepare_resume();
  for (const std::string& note : c.notes) reporter.note(note);
  if (!c.checkpoint)
    reporter.note(fmt::format("`resume`: {} checkpoint in {}; starting a new run",
                              c.notes.empty() ? "no" : "no valid", checkpoints.root()));
  return c.checkpoint;
}

}  // namespace tandem
