#pragma once
// Each subcommand lives in its own file and registers itself on the CLI11 app with one function.
// Commands throw tandem::Error (exit 1) or tandem::UsageError (exit 2); main prints one line.
#include <CLI/CLI.hpp>

namespace tandem::cli {

void add_version_command(CLI::App& app);

}  // namespace tandem::cli
