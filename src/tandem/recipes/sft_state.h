#pragma once
// What a supervised run must carry across a checkpoint besides weights and moments, so that a
// resumed or rolled-back run continues exactly as the uninterrupted one would: the data position
// (batches are a pure function of seed and index, data/sft_batches.h, so it is the only RNG
// counter; packed batches add a cursor into the records, data/packing.h), the spike guard's window,
// the count of consecutive failures and of tokens, and the settings it ran with. The LR schedule's
// position is the step count itself.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tandem/recipes/sft.h"
#include "tandem/train/checkpoint.h"
#include "tandem/train/spike_guard.h"

namespace tandem {

struct SftLoopState {
  explicit SftLoopState(SpikeRule rule) : guard(rule) {}

  int64_t data = 0;    // next batch index; moves past skipped batches after a rollback
  uint64_t pack_example = 0, pack_offset = 0;  // packed data: where batch `data` starts
  std::string rows;  // the rows' layout: stream, whole-records or padded ("" in older checkpoints)
  int64_t tokens = 0;  // tokens trained on over the whole run
  int failures = 0;    // consecutive failed steps (non-finite, spike)
  SpikeGuard guard;
  nlohmann::json settings;  // from the checkpoint: the run's settings when it was written

  TrainerState to_state(Trainer& trainer, uint64_t seed, const nlohmann::json& settings) const;
  // Reads back what to_state wrote; `where` names the file for errors. Fields a checkpoint lacks
  // (one written by another recipe) keep their defaults.
  void restore(const TrainerState& state, const std::string& where);
};

// The settings that shape the run (data, schedule, model), as stored in each checkpoint.
nlohmann::json run_settings(const SftConfig& cfg);
// One warning line per setting that differs between a checkpoint and this invocation.
std::vector<std::string> settings_changes(const nlohmann::json& saved, const nlohmann::json& now);

}  // namespace tandem
