// tandem: one binary, one subcommand per file in this folder (see commands.h).
#include <cstdio>

#include "tandem/backend/backend.h"
#include "tandem/cli/commands.h"
#include "tandem/cli/flags.h"
#include "tandem/comm/world.h"
#include "tandem/core/error.h"
#include "tandem/core/wait_policy.h"

int main(int argc, char** argv) {
  tandem::choose_wait_policy(argv);
  CLI::App app{"tandem: train reasoning language models on one chip, serve them on another"};
  app.require_subcommand(1);
  // Options from a file: one [section] per command (e.g. [demo] then `steps = 800`); flags on the
  // command line win. Subcommands fall through so `tandem demo --config run.toml` works.
  app.set_config("--config", "", "Read options from a TOML/INI file, a [command] section each");
  app.add_option_function<int>(
         "--threads", [](int n) { tandem::set_cpu_threads(n); },
         "CPU kernel threads (default: every core this process may use, or OMP_NUM_THREADS)")
      ->check(CLI::PositiveNumber)
      ->trigger_on_parse();
  tandem::cli::add_demo_command(app);
  tandem::cli::add_train_command(app);
  tandem::cli::add_grpo_command(app);
  tandem::cli::add_eval_command(app);
  tandem::cli::add_generate_command(app);
  tandem::cli::add_serve_command(app);
  tandem::cli::add_version_command(app);
  tandem::cli::add_tokenize_command(app);
  tandem::cli::add_train_tokenizer_command(app);
  tandem::cli::add_export_command(app);
  tandem::cli::add_import_command(app);
  tandem::cli::add_task_data_command(app);
  tandem::cli::add_label_command(app);
  for (CLI::App* sub : app.get_subcommands({})) {
    sub->fallthrough();
    // Under mpirun every rank runs the command: only those written for it may run that way.
    const std::string name = sub->get_name();
    if (name != "train" && name != "grpo" && name != "demo")
      sub->preparse_callback([name](size_t) {
        if (tandem::launched_world_size() > 1)
          throw tandem::UsageError("tandem " + name +
                                   " runs in one process; under mpirun only `tandem train`, "
                                   "`grpo` and `demo` run (docs/distributed.md)");
      });
  }
  int code = 0;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help prints and exits 0; a bad flag or value prints one line and exits 2.
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "tandem: %s (see --help)\n", e.what());
    code = 2;
  } catch (const tandem::ConfigError& e) {  // a recipe's settings, named as this CLI's flags
    std::fprintf(stderr, "tandem: error: %s\n",
                 tandem::name_fields(e.message(), tandem::cli::flag_for).c_str());
    code = 1;
  } catch (const tandem::UsageError& e) {
    std::fprintf(stderr, "tandem: %s\n", e.what());
    code = 2;
  } catch (const tandem::Error& e) {
    std::fprintf(stderr, "tandem: error: %s\n", e.what());
    code = 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tandem: unexpected error: %s\n", e.what());
    code = 1;
  }
  // A rank that failed alone must not leave the others waiting in a collective.
  if (code != 0) tandem::abort_world(code);
  return code;
}
