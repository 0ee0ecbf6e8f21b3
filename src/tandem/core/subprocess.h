#pragma once
// Running an outside program as a judge: `sh -c COMMAND` gets `input` on stdin, and its stdout is
// read back, within a time limit. A program that hangs is killed (its whole process group) when
// the limit passes; one that crashes, exits non-zero or closes stdin early is reported, never
// thrown: the caller decides what a failed judge means.
#include <string>
#include <string_view>

namespace tandem {

struct ProcessResult {
  bool started = false;    // false: the program could not be run at all (see error)
  bool timed_out = false;  // killed at the time limit
  int exit_code = -1;      // when it exited by itself
  int signal = 0;          // when a signal ended it (not ours)
  std::string out;         // stdout (at most max_output bytes)
  std::string error;       // why it failed to start
  bool ok() const { return started && !timed_out && signal == 0 && exit_code == 0; }
  std::string describe() const;  // "exit code 3", "timed out after 2 s", "killed by signal 11"
};

ProcessResult run_process(const std::string& command, std::string_view input, double timeout_s,
                          size_t max_output = 1 << 16);

}  // namespace tandem
