#include "tandem/core/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace tandem {

std::string format_duration(double s) {
  if (s < 60) return fmt::format("{:.1f}s", s);
  const int64_t t = int64_t(s + 0.5);
  if (t < 3600) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}h{:02}m", t / 3600, (t / 60) % 60);
}

std::string format_count(double v) {
  if (v < 1e3) return fmt::format("{:.0f}", v);
  if (v < 1e6) return fmt::format("{:.1f}k", v / 1e3);
  return fmt::format("{:.1f}M", v / 1e6);
}

Progress::Progress(std::string label, int64_t total)
    : label_(std::move(label)),
      total_(total > 0 ? total : 1),
      tty_(isatty(STDERR_FILENO)),
      start_(Clock::now()),
      last_draw_(start_) {}

void Progress::update(int64_t done, const std::string& info) {
  done_ = done, info_ = info;
  const auto now = Clock::now();
  if (tty_) {
    if (now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    draw(false);
  } else if (done_ * 10 / total_ != last_logged_) {  // every 10% on a pipe
    last_logged_ = done_ * 10 / total_;
    draw(false);
  }
}

void Progress::finish(const std::string& info) {
  if (!info.empty()) info_ = info;
  draw(true);
}

void Progress::draw(bool final) {
  const double elapsed = seconds_since(start_);
  const double frac = double(done_) / double(total_);
  constexpr int width = 24;
  const int filled = int(frac * width);
  std::string bar = std::string(filled, '#') + std::string(width - filled, '.');
  std::string eta = final ? "took " + format_duration(elapsed)
                          : done_ > 0 ? "ETA " + format_duration(elapsed / frac - elapsed) : "ETA ?";
  std::string line = fmt::format("{} [{}] {}/{} {:3.0f}%{}{} | {}", label_, bar, done_, total_,
                                 frac * 100, info_.empty() ? "" : " | ", info_, eta);
  if (tty_)
    std::fprintf(stderr, "\r\033[2K%s%s", line.c_str(), final ? "\n" : "");
  else
    std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

}  // namespace tandem
