#pragma once
// Recipes name their settings by config field (`out_dir`, `group_size`); this command line
// spells them as flags. One rule for every command, so errors and notes name what the person typed.
#include <string>

#include "tandem/core/reporter.h"

namespace tandem::cli {

// --out for out_dir and the singular of a repeatable flag's list (the flags that are not their
// field's name), else --field-name.
inline std::string flag_for(const std::string& field) {
  if (field == "out_dir") return "--out";
  if (field == "rollout_servers") return "--rollout-server";
  std::string flag = "--" + field;
  for (char& c : flag) c = c == '_' ? '-' : c;
  return flag;
}

// What every command reports through: notes on stderr, results on stdout, progress bars.
inline ConsoleReporter console() { return ConsoleReporter(flag_for); }

}  // namespace tandem::cli
