// tandem grpo: reasoning RL with verifiable rewards from a supervised model directory.
#include <fmt/format.h>

#include <filesystem>
#include <map>

#include "tandem/backend/backend.h"
#include "tandem/cli/commands.h"
#include "tandem/comm/world.h"
#include "tandem/cli/flags.h"
#include "tandem/recipes/grpo.h"
#include "tandem/recipes/grpo_report.h"

namespace tandem::cli {
namespace {

// Where the run starts and what it writes, the rollouts (prompts, sampling) and the optimizer.
void add_run_flags(CLI::App* cmd, GrpoRunConfig* c) {
  cmd->add_option("--init-from", c->init_from, "Model directory to improve (e.g. runs/demo/model)")
      ->required();
  cmd->add_option("--out", c->out_dir, "Run directory")->capture_default_str();
  cmd->add_option("--task", c->task, "arithmetic or countdown")->capture_default_str();
  cmd->add_option("--data", c->data,
                  "Your problems instead of the task's: JSONL of {\"prompt\", \"answer\", "
                  "\"level\"} records (docs/data.md)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--verifier", c->verifier.kind,
                  "How --data answers are judged: exact, numeric, regex or cmd")
      ->capture_default_str()->check(CLI::IsMember({"exact", "numeric", "regex", "cmd"}));
  cmd->add_option("--verifier-cmd", c->verifier.command,
                  "Program judging each completion (sh -c): a JSON line {prompt, answer, "
                  "completion, level} on stdin, a reward on stdout; implies --verifier cmd");
  cmd->add_option("--verifier-timeout", c->verifier.timeout_s,
                  "Seconds per completion before the program is killed (reward 0)")
      ->capture_default_str()->check(kPositive);
  cmd->add_option("--tolerance", c->verifier.tolerance, "numeric verifier: allowed difference")
      ->capture_default_str()->check(kNonNegative);
  cmd->add_option("--heldout-fraction", c->heldout_fraction,
                  "Share of the --data problems kept for evaluation (by prompt hash)")
      ->capture_default_str()->check(CLI::Range(0.0, 0.99));
  cmd->add_option("--backend", c->backend, "Device backend: " + backend_choices())
      ->capture_default_str();
  cmd->add_option("--seed", c->seed, "Seed for prompts and sampling")->capture_default_str();
  cmd->add_option("--eval-seed", c->eval_seed,
                  "Which held-out problems are evaluated (independent of --seed)")
      ->capture_default_str();
  cmd->add_option("--levels", c->levels, "Levels the prompts come from")->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--steps", c->steps, "Rollout batches")->capture_default_str()->check(kPositive);
  cmd->add_option("--prompts", c->prompts, "Prompts per step")->capture_default_str()->check(kPositive);
  cmd->add_option("--group-size", c->group_size, "Completions per prompt (G)")->capture_default_str()
      ->check(kPositive);
  cmd->add_option("--temperature", c->temperature, "Rollout sampling temperature")
      ->capture_default_str()->check(kPositive);
  cmd->add_option("--max-new-tokens", c->max_new_tokens, "Completion length limit")
      ->capture_default_str()->check(kPositive);
  cmd->add_option("--epochs", c->epochs, "Policy updates per rollout batch")->capture_default_str()
      ->check(kPositive);
  cmd->add_option("--micro-batch", c->micro_batch, "Completions per forward/backward")
      ->capture_default_str()->check(kPositive);
  cmd->add_option("--lr", c->lr, "Learning rate (after warmup)")->capture_default_str()->check(kPositive);
  cmd->add_option("--min-lr", c->min_lr,
                  "Cosine decay from --lr to this at the last step (default: constant)")
      ->check(kNonNegative);
  cmd->add_option("--warmup", c->warmup, "Warmup steps")->capture_default_str()->check(kNonNegative);
  cmd->add_option("--max-grad-norm", c->max_grad_norm, "Global-norm clip (0: off)")->capture_default_str();
}

// The policy objective: clip range, KL penalty, how token losses are aggregated, how
// advantages are scaled, and which groups and completions count. --epsilon-high is held in
// eps_high (negative: not given) because its default is whatever --epsilon ends up as.
void add_objective_flags(CLI::App* cmd, GrpoRunConfig* c, double* eps_high) {
  cmd->add_option("--epsilon", c->objective.epsilon, "Clip range (low side)")->capture_default_str()
      ->check(kPositive);
  cmd->add_option("--epsilon-high", *eps_high, "Clip range, high side (clip-higher); default = epsilon");
  cmd->add_option("--beta", c->objective.beta, "KL penalty to the frozen initial model (k3)")
      ->capture_default_str()->check(kNonNegative);
  const std::map<std::string, LossAggregation> aggs = {{"token", LossAggregation::Token},
                                                       {"sequence", LossAggregation::Sequence},
                                                       {"dr_grpo", LossAggregation::DrGrpo}};
  cmd->add_option("--aggregation", c->objective.aggregation, "token, sequence or dr_grpo")
      ->transform(CLI::CheckedTransformer(aggs, CLI::ignore_case))->capture_default_str();
  const std::map<std::string, AdvantageScaling> scalings = {{"group", AdvantageScaling::GroupStd},
                                                            {"batch", AdvantageScaling::BatchStd},
                                                            {"none", AdvantageScaling::None}};
  cmd->add_option("--scaling", c->scaling, "Advantage scaling: group, batch or none")
      ->transform(CLI::CheckedTransformer(scalings, CLI::ignore_case))->capture_default_str();
  cmd->add_flag("--dynamic-sampling,!--no-dynamic-sampling", c->dynamic_sampling,
                "Skip groups whose rewards are all equal")->capture_default_str();
  cmd->add_flag("--mask-truncated", c->objective.mask_truncated,
                "Completions that hit the length limit count for nothing");
}

// Held-out evaluations, checkpoints and resuming.
void add_evaluation_flags(CLI::App* cmd, GrpoRunConfig* c) {
  cmd->add_option("--eval-every", c->eval_every, "Steps between held-out evaluations (0: none)")
      ->capture_default_str();
  cmd->add_option("--eval-problems", c->eval_problems,
                  "Held-out problems per level, evaluations during the run")
      ->capture_default_str()->check(kPositive);
  cmd->add_option("--final-eval-problems", c->final_eval_problems,
                  "Held-out problems per level, first and last evaluation (0: none)")
      ->capture_default_str()->check(kNonNegative);
  cmd->add_option("--checkpoint-every", c->checkpoint_every, "Steps between checkpoints (0: none)")
      ->capture_default_str()->check(kNonNegative);
  cmd->add_option("--keep-last", c->keep_last, "Checkpoints kept (0: all)")->capture_default_str()
      ->check(kNonNegative);
  cmd->add_flag("--resume", c->resume,
                "Continue from the newest checkpoint in --out that verifies (same flags)");
}

// Rollouts on other engines (docs/rl-across-engines.md): servers, the gap's correction, and
// batch-invariant kernels.
void add_split_flags(CLI::App* cmd, GrpoRunConfig* c, std::string* correction) {
  cmd->add_option("--rollout-server", c->rollout_servers,
                  "A `tandem serve --admin-key K` URL (host:port) that makes rollouts; repeat it to "
                  "spread the prompts over several. Unset: rollouts in-process");
  cmd->add_option("--admin-key", c->admin_key, "The servers' --admin-key (weights are sent with it)");
  cmd->add_option("--requests-per-server", c->requests_per_server,
                  "Concurrent rollout requests at each server")
      ->capture_default_str()->check(kPositive);
  cmd->add_flag("--keep-stale", c->keep_stale,
                "Keep rollouts a server made with other weights (counted, and corrected by "
                "--rollout-correction) instead of asking again");
  cmd->add_option("--rollout-correction", *correction,
                  "Correct the sampler/trainer gap: none, tis (truncated IS weights), mis (drop "
                  "sequences whose mean ratio leaves [low, high]), mask (drop such tokens)")
      ->capture_default_str()->check(CLI::IsMember({"none", "tis", "mis", "mask"}));
  cmd->add_option("--correction-cap", c->correction.cap, "tis: the weights' cap C")->capture_default_str();
  cmd->add_option("--correction-low", c->correction.low, "mis, mask: the lowest ratio kept")
      ->capture_default_str();
  cmd->add_option("--correction-high", c->correction.high, "mis, mask: the highest ratio kept")
      ->capture_default_str();
  cmd->add_flag("--deterministic", c->deterministic,
                "Batch-invariant kernels (CPU): a row's bits do not depend on its batch, so "
                "rollouts equal the trainer's recomputation bit for bit (servers need it too)");
}

}  // namespace

void add_grpo_command(CLI::App& app) {
  auto c = std::make_shared<GrpoRunConfig>();
  auto eps_high = std::make_shared<double>(-1);
  auto correction = std::make_shared<std::string>("none");
  auto* cmd = app.add_subcommand("grpo", "Reasoning RL (GRPO, verifiable rewards) from a model (data parallel under mpirun)");
  // Flags are declared in the order --help lists them.
  add_run_flags(cmd, c.get());
  add_objective_flags(cmd, c.get(), eps_high.get());
  add_evaluation_flags(cmd, c.get());
  add_split_flags(cmd, c.get(), correction.get());
  cmd->callback([c, eps_high, correction, cmd] {
    if (!c->verifier.command.empty()) c->verifier.kind = "cmd";
    if (!c->data.empty() && cmd->count("--levels") == 0) c->levels.clear();  // every level
    if (*eps_high >= 0) c->objective.epsilon_high = *eps_high;
    c->correction.mode = parse_rollout_correction(*correction);
    // Under mpirun (docs/distributed.md) every rank works; rank 0 alone shows and writes.
    Communicator& comm = world();
    ConsoleReporter shown = console();
    QuietReporter unseen;
    Reporter& reporter = comm.leader() ? static_cast<Reporter&>(shown) : unseen;
    std::filesystem::create_directories(c->out_dir);
    MetricsLog metrics(comm.leader() ? c->out_dir + "/metrics.jsonl" : "");
    const GrpoRunResult r = run_grpo(*c, metrics, reporter, comm);
    if (!comm.leader()) return;
    write_grpo_report(c->out_dir, "", r.seconds);
    std::string out = fmt::format("{} after {} steps ({:.0f} s): model in {}\n",
                                  r.interrupted ? "stopped" : "done", r.steps_done, r.seconds,
                                  r.model_dir);
    const std::string table = grpo_before_after_table(c->out_dir);
    if (!table.empty())
      out += "\nheld-out accuracy (greedy), first vs last evaluation:\n" + table;
    out += fmt::format("report: {}/report.md\n", c->out_dir);
    reporter.result(out);
  });
}

}  // namespace tandem::cli
