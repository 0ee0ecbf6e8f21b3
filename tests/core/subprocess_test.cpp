// core/subprocess.h: an outside program gets its input, its output comes back, and every way it
// can misbehave (hang, crash, exit non-zero, ignore its input, flood its output) is reported
// within the time limit, never thrown or fatal.
#include "tandem/core/subprocess.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace tandem {
namespace {

double seconds_of(const std::function<void()>& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(Subprocess, PassesInputAndReadsOutput) {
  const ProcessResult r = run_process("tr a-z A-Z", "hello\n", 10);
  EXPECT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.out, "HELLO\n");
}

TEST(Subprocess, ReportsExitCodesSignalsAndMissingPrograms) {
  EXPECT_EQ(run_process("exit 3", "", 10).exit_code, 3);
  EXPECT_EQ(run_process("kill -SEGV $$", "", 10).signal, 11);
  const ProcessResult missing = run_process("/no/such/program", "x", 10);
  EXPECT_FALSE(missing.ok());
  EXPECT_EQ(missing.exit_code, 127);
}

TEST(Subprocess, KillsAHungProgramAndWhatItStartedAtTheLimit) {
  ProcessResult r;
  const double s = seconds_of([&] { r = run_process("sleep 30 & sleep 30", "", 0.3); });
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.ok());
  EXPECT_LT(s, 5);
}

TEST(Subprocess, AProgramThatIgnoresALargeInputDoesNotKillTheCaller) {
  const std::string big(1 << 20, 'x');  // more than a pipe holds
  const ProcessResult r = run_process("echo done", big, 10);
  EXPECT_EQ(r.out, "done\n");
}

TEST(Subprocess, OutputIsCappedAndManyRunAtOnce) {
  EXPECT_EQ(run_process("yes | head -c 100000", "", 10, 1000).out.size(), 1000u);
  std::vector<std::thread> threads;
  std::vector<std::string> outs(8);
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] { outs[size_t(i)] = run_process("cat", std::to_string(i), 10).out; });
  for (auto& t : threads) t.join();
  for (int i = 0; i < 8; ++i) EXPECT_EQ(outs[size_t(i)], std::to_string(i));
}

}  // namespace
}  // namespace tandem
