#pragma once
// Test hooks for fault injection, read once from the environment; all off unless set. They let
// tests/fault/ provoke the faults the training loop must survive (docs/fault-tolerance.md):
//   TANDEM_INJECT_NAN_STEP=N[-M]      a NaN in the gradients of batch N (to M): the step is skipped
//   TANDEM_INJECT_SPIKE_STEP=N[-M]    the loss of batch N (to M) reported 1000x: a loss spike
//   TANDEM_FAIL_CHECKPOINT_WRITE=N    the N-th checkpoint this process writes fails mid-write
//   TANDEM_KILL_IN_CHECKPOINT=N       SIGKILL during the N-th checkpoint write (files written,
//                                     not yet published)
//   TANDEM_STOP_AFTER_STEP=N          a stop request (as from SIGTERM) once step N is done
// Batches are counted by data position (the batch index), which equals the 0-based step until a
// rollback skips batches, so a hook fires once even when the steps around it are replayed.
#include <cstdint>

namespace tandem {

struct FaultHooks {
  struct Range {
    int64_t first = -1, last = -1;
    bool contains(int64_t i) const { return first >= 0 && i >= first && i <= last; }
  };
  Range nan_batches, spike_batches;
  int64_t fail_checkpoint_write = 0;  // 1-based count of saves; 0: never
  int64_t kill_in_checkpoint = 0;
  int64_t stop_after_step = 0;  // 0: never

  static const FaultHooks& get();  // parsed on first use; a malformed value is an error
};

}  // namespace tandem
