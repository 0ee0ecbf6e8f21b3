#include "tandem/train/fault_hooks.h"

#include <cstdlib>
#include <string>

#include "tandem/core/error.h"

namespace tandem {

namespace {

int64_t parse_count(const char* name, const std::string& s) {
  size_t used = 0;
  int64_t v = -1;
  try {
    v = std::stoll(s, &used);
  } catch (...) {
    used = 0;
  }
  TANDEM_CHECK(used == s.size() && v >= 0, "{}={}: expected a non-negative integer", name, s);
  return v;
}

FaultHooks::Range parse_range(const char* name) {
  const char* env = std::getenv(name);
  if (!env || !*env) return {};
  const std::string s = env;
  const size_t dash = s.find('-', 1);
  FaultHooks::Range r;
  r.first = parse_count(name, s.substr(0, dash));
  r.last = dash == std::string::npos ? r.first : parse_count(name, s.substr(dash + 1));
  TANDEM_CHECK(r.last >= r.first, "{}={}: the range ends before it starts", name, s);
  return r;
}

int64_t parse_nth(const char* name) {
  const char* env = std::getenv(name);
  return env && *env ? parse_count(name, env) : 0;
}

}  // namespace

const FaultHooks& FaultHooks::get() {
  static const FaultHooks hooks = [] {
    FaultHooks h;
    h.nan_batches = parse_range("TANDEM_INJECT_NAN_STEP");
    h.spike_batches = parse_range("TANDEM_INJECT_SPIKE_STEP");
    h.fail_checkpoint_write = parse_nth("TANDEM_FAIL_CHECKPOINT_WRITE");
    h.kill_in_checkpoint = parse_nth("TANDEM_KILL_IN_CHECKPOINT");
    h.stop_after_step = parse_nth("TANDEM_STOP_AFTER_STEP");
    return h;
  }();
  return hooks;
}

}  // namespace tandem
