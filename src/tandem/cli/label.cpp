// tandem label: rejection sampling into a supervised dataset (recipes/label.h, docs/data.md).
#include "tandem/backend/backend.h"
#include "tandem/cli/commands.h"
#include "tandem/cli/flags.h"
#include "tandem/recipes/label.h"

namespace tandem::cli {

void add_label_command(CLI::App& app) {
  auto job = std::make_shared<LabelJob>();
  auto* cmd = app.add_subcommand(
      "label", "Rejection sampling: answer problems K times, keep the verified answers as chat JSONL");
  cmd->add_option("model", job->model_dir, "Model directory that answers")->required();
  cmd->add_option("--data", job->data, "Problems: JSONL of {\"prompt\", \"answer\", \"level\"}")
      ->required()->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", job->output, "Chat JSONL to write (and OUTPUT.stats.json)")->required();
  cmd->add_option("--samples", job->samples, "Samples per problem (K)")->capture_default_str()
      ->check(kPositive);
  cmd->add_option("--verifier", job->verifier.kind, "exact, numeric, regex or cmd")
      ->capture_default_str()->check(CLI::IsMember({"exact", "numeric", "regex", "cmd"}));
  cmd->add_option("--verifier-cmd", job->verifier.command,
                  "Program judging each answer (see tandem grpo --help); implies --verifier cmd");
  cmd->add_option("--verifier-timeout", job->verifier.timeout_s, "Seconds per answer")
      ->capture_default_str()->check(kPositive);
  cmd->add_option("--tolerance", job->verifier.tolerance, "numeric verifier: allowed difference")
      ->capture_default_str()->check(kNonNegative);
  cmd->add_option("--keep", job->keep, "shortest verified answer per problem, or all distinct ones")
      ->capture_default_str()->check(CLI::IsMember({"shortest", "all"}));
  cmd->add_option("--temperature", job->temperature, "Sampling temperature")->capture_default_str();
  cmd->add_option("--max-new-tokens", job->max_new_tokens, "Longest answer")->capture_default_str()
      ->check(kPositive);
  cmd->add_option("--seed", job->seed, "Sampling seed")->capture_default_str();
  cmd->add_option("--prompts-per-batch", job->prompts_per_batch, "Problems decoded together")
      ->capture_default_str()->check(kPositive);
  cmd->add_option("--limit", job->limit, "Label only the first N problems (0: all)")
      ->capture_default_str()->check(kNonNegative);
  cmd->add_option("--backend", job->backend, "Device backend: " + backend_choices())
      ->capture_default_str();
  cmd->add_option("--server", job->servers,
                  "A `tandem serve --admin-key K` URL (host:port) that samples instead of this "
                  "process; it is sent the model's weights. Repeat it to share the problems");
  cmd->add_option("--admin-key", job->admin_key,
                  "The servers' --admin-key (weights are sent with it)");
  cmd->add_option("--requests-per-server", job->requests_per_server,
                  "Concurrent requests at each server")
      ->capture_default_str()
      ->check(kPositive);
  cmd->callback([job] {
    if (!job->verifier.command.empty()) job->verifier.kind = "cmd";
    ConsoleReporter reporter = console();
    run_label(*job, reporter);
  });
}

}  // namespace tandem::cli
