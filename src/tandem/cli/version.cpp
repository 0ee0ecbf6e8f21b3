#include <cstdio>

#include "tandem/backend/backend.h"
#include "tandem/cli/commands.h"
#include "tandem/core/wait_policy.h"

namespace tandem::cli {

void add_version_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "version", "Print the version, the backends this binary can use and how idle threads wait");
  cmd->callback([] {
    std::printf("tandem 0.1.0\nbackends:");
    for (const auto& name : available_backends()) std::printf(" %s", name.c_str());
    std::printf("\nidle threads: %s\n", wait_policy_in_effect());
  });
}

}  // namespace tandem::cli
