#include "tandem/core/wait_policy.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

// libgomp's idle threads spin about 300,000 times after every parallel region before sleeping.
// Decoding runs many tiny regions per token: on a quiet machine the spin is what makes a second
// thread pay, but next to another busy process the spinning thread takes the core from the one
// doing work (evaluation 3x slower, docs/performance.md "Threads on a shared machine"). Passive
// waits fix that and cost the quiet machine a third of decoding's speed. So the choice is made
// from the load when the process starts: passive when the other runnable tasks leave fewer free
// cores than this process has threads, otherwise a short spin (1000: if a neighbour starts later,
// it costs 1.4x rather than 3x). libgomp reads these variables once, when it loads, before main
// (and glibc resets the environment after .preinit_array), so the process starts itself again.

namespace tandem {
namespace {

// Runnable tasks on the machine now, from /proc/stat's procs_running (this process's included).
int procs_running() {
  std::FILE* f = std::fopen("/proc/stat", "r");
  if (!f) return -1;
  char line[256];
  int n = -1;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "procs_running %d", &n) == 1) break;
  std::fclose(f);
  return n;
}

// Of those, this process's own (OpenBLAS's pool, started when the library loads, spins a while).
int own_running() {
  int n = 0;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::FILE* f = std::fopen((task.path() / "stat").c_str(), "r");
    if (!f) continue;
    char buf[512];
    const size_t len = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[len] = 0;
    const char* close = std::strrchr(buf, ')');  // the name may hold spaces and parentheses
    if (close && close[1] == ' ' && close[2] == 'R') ++n;
  }
  return n;
}

// Threads this process will run kernels on: OMP_NUM_THREADS or the cores it may use.
int own_threads() {
  if (const char* s = std::getenv("OMP_NUM_THREADS"); s && std::atoi(s) > 0) return std::atoi(s);
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
  return 1;
}

// Other tasks that stay runnable over ~20 ms (the least of five looks, so a passing task does not
// count) leave too few of the machine's cores for our threads.
bool machine_busy() {
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  const int threads = own_threads();
  if (cores <= 0 || threads <= 1) return false;
  int others = 1 << 30;
  for (int i = 0; i < 5; ++i) {
    if (i) std::this_thread::sleep_for(std::chrono::milliseconds(4));
    const int n = procs_running();
    if (n < 0) return false;
    others = std::min(others, n - std::max(1, own_running()));
  }
  return others > cores - threads;
}

}  // namespace

void choose_wait_policy(char** argv) {
  // A user's setting wins; ours, once made, is one of these too, so the second start keeps it.
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  if (machine_busy())
    setenv("OMP_WAIT_POLICY", "passive", 1);
  else
    setenv("GOMP_SPINCOUNT", "1000", 1);
  execv("/proc/self/exe", argv);
  // exec failed (no /proc?): carry on with libgomp's default, which is only slower.
}

const char* wait_policy_in_effect() {
  static std::string s = [] {
    if (const char* p = std::getenv("OMP_WAIT_POLICY")) return std::string(p);
    if (const char* c = std::getenv("GOMP_SPINCOUNT")) return "spin " + std::string(c);
    return std::string("libgomp default");
  }();
  return s.c_str();
}

}  // namespace tandem
