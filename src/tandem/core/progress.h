#pragma once
// A one-line progress bar on stderr: "label [#####.....] 120/400 30% | loss 1.23 | 5.1k tok/s | ETA
// 1m02s". Redrawn in place on a terminal (at most ~10 times a second); on a pipe or file it prints
// a plain line every `log_every` updates instead, so CI logs stay readable.
#include <cstdint>
#include <string>

#include "tandem/core/clock.h"

namespace tandem {

class Progress {
 public:
  Progress(std::string label, int64_t total);
  // Moves to `done` units; `info` is shown after the counts (e.g. loss, tokens/s).
  void update(int64_t done, const std::string& info = "");
  void finish(const std::string& info = "");  // final redraw and newline

 private:
  void draw(bool final);
  std::string label_, info_;
  int64_t total_, done_ = 0;
  bool tty_;
  Clock::time_point start_, last_draw_;
  int64_t last_logged_ = -1;
};

std::string format_duration(double seconds);  // "1h02m", "3m05s", "12.3s"
std::string format_count(double value);        // "950", "12.3k", "4.5M"

}  // namespace tandem
