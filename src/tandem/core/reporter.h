#pragma once
// How a long job talks to the person running it without knowing where the words go: the command
// line shows progress bars on stderr and results on stdout, a test collects the notes, a server
// would log them. Recipes take a Reporter and never print.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace tandem {

class Progress;

class Reporter {
 public:
  virtual ~Reporter() = default;
  // Something the person should know, one line: a resumed checkpoint, a skipped step.
  virtual void note(const std::string& line) = 0;
  // What the job produced, for the person to read: tables, summaries, where the report is.
  virtual void result(const std::string& text) = 0;
  // A long piece of work, one at a time: begin, update with the units done, end.
  virtual void begin(const std::string& label, int64_t total) = 0;
  virtual void update(int64_t done, const std::string& info = "") = 0;
  virtual void end(const std::string& info = "") = 0;
};

// The command line's: notes to stderr as "tandem: ...", results to stdout, progress bars.
// Settings named in notes (`field`, core/error.h) are shown as flag_of(field).
class ConsoleReporter final : public Reporter {
 public:
  explicit ConsoleReporter(std::function<std::string(const std::string&)> flag_of = {});
  ~ConsoleReporter() override;
  void note(const std::string& line) override;
  void result(const std::string& text) override;
  void begin(const std::string& label, int64_t total) override;
  void update(int64_t done, const std::string& info) override;
  void end(const std::string& info) override;

 private:
  std::function<std::string(const std::string&)> flag_of_;
  std::unique_ptr<Progress> bar_;
  bool tty_;
};

// Keeps notes and results in memory and shows nothing (tests, embedding).
class QuietReporter final : public Reporter {
 public:
  void note(const std::string& line) override { notes.push_back(line); }
  void result(const std::string& text) override { results += text; }
  void begin(const std::string&, int64_t) override {}
  void update(int64_t, const std::string&) override {}
  void end(const std::string&) override {}

  std::vector<std::string> notes;
  std::string results;
};

}  // namespace tandem
