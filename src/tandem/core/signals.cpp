#include "tandem/core/signals.h"

#include <unistd.h>

#include <atomic>
#include <csignal>

namespace tandem {

namespace {
std::atomic<int> g_signals{0};

void on_signal(int) {
  if (g_signals.fetch_add(1) >= 1) _exit(130);  // second signal: leave now (async-signal-safe)
  constexpr char msg[] = "\ntandem: stopping after this step (signal again to quit at once)\n";
  [[maybe_unused]] auto n = write(STDERR_FILENO, msg, sizeof(msg) - 1);
}
}  // namespace

void install_stop_handler() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool stop_requested() { return g_signals.load() > 0; }
void request_stop() { g_signals.fetch_add(1); }

}  // namespace tandem
