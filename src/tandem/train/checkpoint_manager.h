#pragma once
// A run's checkpoints folder, for any recipe: root/step-NNNNNN directories, each written into
// root/.tmp-step-NNNNNN, sealed with a manifest (io/manifest.h: size and CRC-32 of every file),
// fsynced (files, folder, root) and renamed into place, so a crash at any instant leaves only
// complete checkpoints plus, at worst, a .tmp-* folder that the next start removes. The newest
// `keep_last` are kept. On resume the newest checkpoint whose manifest verifies wins; damaged
// newer ones are moved aside (rejected-step-NNNNNN) with the reason, so their steps can be
// written again. One writer per folder at a time (lock()).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tandem {

struct CheckpointRef {
  int64_t step = 0;
  std::string dir;
};

class CheckpointManager {
 public:
  // keep_last <= 0 keeps every checkpoint.
  CheckpointManager(std::string root, int keep_last);
  ~CheckpointManager();
  CheckpointManager(const CheckpointManager&) = delete;
  CheckpointManager& operator=(const CheckpointManager&) = delete;

  const std::string& root() const { return root_; }
  std::string dir_for(int64_t step) const;  // root/step-NNNNNN

  // Writes checkpoint `step`: fill(tmp_dir) writes its files (the manifest is added here), then
  // the folder is published and older ones beyond keep_last are removed. Returns the directory.
  // On any error the temporary folder is removed, older checkpoints are untouched, and the error
  // (naming the file) propagates. The step must not have a checkpoint yet.
  std::string save(int64_t step, const std::function<void(const std::string&)>& fill);

  // Published checkpoints, oldest first (not verified).
  std::vector<CheckpointRef> list() const;

  struct Choice {
    std::optional<CheckpointRef> checkpoint;  // the newest that verifies; none: start fresh
    std::vector<std::string> notes;           // what was skipped or cleaned up, and why
  };
  // Newest verified checkpoint, without changing anything on disk.
  Choice latest_valid() const;
  // The same, after removing stale .tmp-* folders, and moving each damaged checkpoint newer than
  // the chosen one to rejected-step-NNNNNN. Call it once at start-up (resume) or for a rollback.
  Choice prepare_resume();

  // Takes root/.lock (flock) for the life of this object, so a second process training into the
  // same folder fails at once instead of interleaving checkpoints. The kernel drops the lock
  // when the process dies, however it dies. Throws naming the folder when another holds it.
  void lock();

  void prune();              // removes the oldest published checkpoints beyond keep_last
  int remove_temporaries();  // removes .tmp-* folders (interrupted writes); returns how many
  int64_t saves() const { return saves_; }  // save() calls so far (fault hooks count them)

 private:
  std::string root_;
  int keep_last_;
  int64_t saves_ = 0;
  int lock_fd_ = -1;
};

// Publishes a copy of checkpoint `src` at `dst` (replacing what was there): files are hard-linked,
// which is safe because checkpoint files are never modified in place, or copied where the file
// system has no links. Used for a run's final model/ directory.
void publish_checkpoint_copy(const std::string& src, const std::string& dst);

}  // namespace tandem
