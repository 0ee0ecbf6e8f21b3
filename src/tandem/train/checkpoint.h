#pragma once
// A training checkpoint is a model directory in the HF layout (config.json, model.safetensors,
// tokenizer files), so any checkpoint can be served or exported as is, plus the training state:
//   optimizer.safetensors  AdamW moments, "m.<name>" and "v.<name>" in the parameter layout
//   trainer_state.json     step counters, seed, data position, and whatever the run adds
//   manifest.json          size and CRC-32 of every other file (io/manifest.h)
// A checkpoint is written into a temporary sibling directory and renamed into place when complete,
// so a crash leaves either the old set of checkpoints or the new one, never a torn directory.
// Weights and moments are stored as float32, the training precision, so a resumed run continues
// bit for bit. For a run's folder of numbered checkpoints see checkpoint_manager.h.
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "tandem/train/trainer.h"

namespace tandem {

struct TrainerState {
  int64_t step = 0;           // optimizer steps done (skipped ones included)
  int64_t adam_step = 0;      // AdamW's own count, for bias correction
  uint64_t seed = 0;          // the run's seed: every random stream derives from it
  int64_t data_position = 0;  // next batch index
  nlohmann::json extra;       // run-specific state (e.g. the last metrics)
};

// Writes weights, config, moments and trainer_state.json into the existing folder `dir` (no
// manifest, not atomic): the fill step of CheckpointManager::save. With a sharded optimizer the
// moments come gathered beforehand (`moments`, from AdamW::moments() called on every rank).
void write_training_state(const std::string& dir, Trainer& trainer, const TrainerState& state,
                          const Moments* moments = nullptr);

// Writes the checkpoint at `dir` (which must not exist yet), manifest included.
// `write_extra(tmp_dir)` may add files such as the tokenizer before the directory is published.
void save_checkpoint(const std::string& dir, Trainer& trainer, const TrainerState& state,
                     const std::function<void(const std::string&)>& write_extra = {});
// Restores weights, moments and counters into `trainer` (whose model must have the checkpoint's
// config) and returns the state. A checkpoint with a manifest must verify against it. Errors name
// the file and the field.
TrainerState load_checkpoint(const std::string& dir, Trainer& trainer);

}  // namespace tandem
