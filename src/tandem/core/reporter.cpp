#include "tandem/core/reporter.h"

#include <unistd.h>

#include <cstdio>

#include "tandem/core/error.h"
#include "tandem/core/progress.h"

namespace tandem {

ConsoleReporter::ConsoleReporter(std::function<std::string(const std::string&)> flag_of)
    : flag_of_(std::move(flag_of)), tty_(isatty(STDERR_FILENO)) {}
ConsoleReporter::~ConsoleReporter() = default;

void ConsoleReporter::note(const std::string& line) {
  // On a terminal a progress bar owns the current line: leave it first.
  const std::string text =
      flag_of_ ? name_fields(line, flag_of_)
               : name_fields(line, [](const std::string& f) { return "'" + f + "'"; });
  std::fprintf(stderr, "%standem: %s\n", tty_ ? "\n" : "", text.c_str());
}

void ConsoleReporter::result(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);  // text may hold any byte (decoded tokens)
  std::fflush(stdout);
}

void ConsoleReporter::begin(const std::string& label, int64_t total) {
  bar_ = std::make_unique<Progress>(label, total);
}

void ConsoleReporter::update(int64_t done, const std::string& info) {
  if (bar_) bar_->update(done, info);
}

void ConsoleReporter::end(const std::string& info) {
  if (bar_) bar_->finish(info);
  bar_.reset();
}

}  // namespace tandem
