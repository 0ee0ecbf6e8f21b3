#include "tandem/recipes/grpo.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "tandem/comm/world.h"
#include "tandem/core/clock.h"
#include "tandem/core/error.h"
#include "tandem/core/signals.h"
#include "tandem/data/tasks/task.h"
#include "tandem/io/model_files.h"
#include "tandem/recipes/evaluation.h"
#include "tandem/recipes/model_dir.h"
#include "tandem/recipes/remote_rollouts.h"
#include "tandem/recipes/run_start.h"
#include "tandem/rl/policy_update.h"
#include "tandem/rl/rollout.h"
#include "tandem/train/checkpoint.h"
#include "tandem/train/checkpoint_manager.h"
#include "tandem/train/trainer.h"

namespace fs = std::filesystem;

namespace tandem {

namespace {

// The frozen reference inside a checkpoint: its weights under the HF names, prefix "ref.".
constexpr const char* kReferenceFile = "reference.safetensors";

// Step `step`'s prompts: each drawn G times, so the G samples form one group.
std::vector<tasks::Problem> step_problems(const tasks::Task& task, const GrpoRunConfig& cfg,
                                          const std::vector<int>& levels, int64_t step) {
  std::vector<tasks::Problem> problems;
  for (int i = 0; i < cfg.prompts; ++i) {
    const uint64_t index = uint64_t(step) * cfg.prompts + i;
    const int level = levels[index % levels.size()];
    const auto p = task.sample(level, tasks::Split::Train, cfg.seed + 1000003, index);
    for (int g = 0; g < cfg.group_size; ++g) problems.push_back(p);
  }
  return problems;
}

// The task's problems, or the user's file judged by the chosen verifier.
std::unique_ptr<tasks::Task> grpo_task(const GrpoRunConfig& cfg) {
  if (cfg.data.empty()) return tasks::make_task(cfg.task);
  return std::make_unique<tasks::ProblemFileTask>(cfg.data, cfg.verifier, cfg.heldout_fraction);
}

struct RolloutSummary {
  std::vector<double> rewards;  // the step's, every rank's
  double correct = 0, formed = 0, length = 0, reward_mean = 0, reward_std = 0;
  int64_t tokens = 0;
};

// Over the whole step: each rank's rollouts' scores are gathered (exactly) first, so every rank
// gets what one process computes from all of them.
RolloutSummary summarize(const std::vector<Rollout>& rollouts, Communicator& comm) {
  constexpr size_t kFields = 4;  // reward, correct, well formed, tokens
  std::vector<double> mine;
  for (const auto& r : rollouts)
    mine.insert(mine.end(), {r.score.reward, double(r.score.correct), double(r.score.well_formed),
                             double(r.completion.tokens.size())});
  const std::vector<double> all = comm.all_gather(mine);
  RolloutSummary s;
  for (size_t i = 0; i < all.size(); i += kFields) {
    s.rewards.push_back(all[i]);
    s.correct += all[i + 1], s.formed += all[i + 2];
    s.tokens += int64_t(all[i + 3]);
  }
  const double n = double(s.rewards.size());
  s.correct /= n, s.formed /= n, s.length = double(s.tokens) / n;
  s.reward_mean = std::accumulate(s.rewards.begin(), s.rewards.end(), 0.0) / n;
  for (double r : s.rewards) s.reward_std += (r - s.reward_mean) * (r - s.reward_mean);
  s.reward_std = std::sqrt(s.reward_std / n);
  return s;
}

// Warmup, then constant, or a cosine down to min_lr at the last step.
TrainConfig train_config(const GrpoRunConfig& cfg) {
  TrainConfig tc;
  tc.lr = cfg.min_lr < 0 ? LrSchedule{cfg.lr, cfg.lr, cfg.warmup, cfg.warmup}
                         : LrSchedule{cfg.lr, cfg.min_lr, cfg.warmup, cfg.steps};
  tc.adamw.weight_decay = cfg.weight_decay;
  tc.max_grad_norm = cfg.max_grad_norm;
  return tc;
}

class GrpoRun {
 public:
  GrpoRun(const GrpoRunConfig& cfg, MetricsLog& metrics, Reporter& reporter, Communicator& comm);
  GrpoRunResult run();

 private:
  void resume();
  void write_state(const std::string& dir, int64_t step);
  void evaluate(int64_t step, int problems);
  void step_once(int64_t step);
  int report_verifier_failures(const std::vector<Rollout>& rollouts, int64_t step);
  Communicator& wire() { return device_comm_ ? *device_comm_ : comm_; }  // the gradients' way

  const GrpoRunConfig& cfg_;
  MetricsLog& metrics_;
  Reporter& rep_;
  Communicator& comm_;
  std::unique_ptr<Communicator> device_comm_;  // NCCL under mpirun with the CUDA backend
  std::unique_ptr<tasks::Task> task_;
  std::vector<int> levels_;  // prompts' levels (cfg.levels, or every level of the task)
  Loaded<Transformer> lm_;
  std::unique_ptr<Transformer> reference_;  // frozen copy for the KL penalty (beta > 0)
  std::unique_ptr<Trainer> trainer_;
  std::unique_ptr<RemoteRollouts> remote_;  // rollouts from servers; null: in-process
  PolicyUpdateConfig update_;
  CheckpointManager checkpoints_;
  int64_t step_ = 0;
  double reward_ema_ = 0;
};

GrpoRun::GrpoRun(const GrpoRunConfig& cfg, MetricsLog& metrics, Reporter& reporter,
                 Communicator& comm)
    : cfg_(cfg), metrics_(metrics), rep_(reporter), comm_(comm),
      task_(grpo_task(cfg)), levels_(cfg.levels),
      checkpoints_(cfg.out_dir + "/checkpoints", cfg.keep_last) {
  if (cfg.init_from.empty()) config_fail("GRPO starts from a model: set `init_from`");
  if (cfg.group_size < 2) config_fail("`group_size` must be at least 2, got {}", cfg.group_size);
  if (levels_.empty())  // every level that has problems to train on
    for (int l = 1; l <= task_->num_levels(); ++l)
      if (task_->count(l, tasks::Split::Train) > 0) levels_.push_back(l);
  check_levels(*task_, levels_, "levels");
  for (int l : levels_)
    if (task_->count(l, tasks::Split::Train) == 0)
      config_fail("{}: no training problems at level {} (`levels`)", task_->name(), l);
  if (cfg.prompts % comm.size() != 0)
    config_fail("`prompts` ({}) must split evenly over the {} ranks", cfg.prompts, comm.size());
  if (!cfg.rollout_servers.empty() && comm.size() > 1)
    config_fail("rollouts from servers (`rollout_servers`) take one trainer process, not {} "
                "ranks: each would send the servers its weights", comm.size());
  lm_ = load_trainable(cfg.init_from, cfg.backend);
  device_comm_ = make_device_communicator(comm, *lm_.backend);
  if (cfg.deterministic) lm_.backend->set_batch_invariant(true);
  const CorrectionConfig& cc = cfg.correction;
  if (!(std::isfinite(cc.cap) && cc.cap >= 1))
    config_fail("`correction_cap` must be at least 1, got {}", cc.cap);
  if (!(cc.low > 0 && cc.low < 1)) config_fail("`correction_low` must be in (0, 1), got {}", cc.low);
  if (!(std::isfinite(cc.high) && cc.high > 1))
    config_fail("`correction_high` must be above 1, got {}", cc.high);
  if (!cfg.rollout_servers.empty()) {
    if (cfg.admin_key.empty())
      config_fail("rollouts from servers need their admin key (`admin_key`) to send them weights");
    serve::PoolConfig pool;
    pool.urls = cfg.rollout_servers;
    pool.admin_key = cfg.admin_key;
    pool.requests_per_server = cfg.requests_per_server;
    pool.stale = cfg.keep_stale ? serve::StalePolicy::Keep : serve::StalePolicy::Reject;
    remote_ = std::make_unique<RemoteRollouts>(pool, lm_.tokenizer);
  }
  if (cfg.objective.beta > 0) {
    reference_ = std::make_unique<Transformer>(*lm_.backend, lm_.model->config());
    reference_->load_params(lm_.model->read_params());
  }
  trainer_ = std::make_unique<Trainer>(*lm_.model, train_config(cfg));
  update_.objective = cfg.objective;
  if (update_.objective.aggregation == LossAggregation::DrGrpo &&
      update_.objective.max_completion_length <= 0)
    update_.objective.max_completion_length = cfg.max_new_tokens;
  update_.epochs = cfg.epochs, update_.micro_batch = cfg.micro_batch;
  update_.max_grad_norm = cfg.max_grad_norm;
  update_.pad = std::max(0, lm_.tokenizer.find_token("<|endoftext|>"));
  update_.recompute_old = remote_ != nullptr;
  update_.correction = cfg.correction;
}

void GrpoRun::write_state(const std::string& dir, int64_t step) {
  TrainerState st;
  st.step = step, st.adam_step = trainer_->optimizer().step(), st.seed = cfg_.seed;
  st.data_position = step;
  st.extra = {{"reward_ema", reward_ema_}};
  write_training_state(dir, *trainer_, st);
  save_tokenizer(lm_.tokenizer, dir);
  if (reference_) {
    std::vector<float> ref = reference_->read_params();
    write_param_sets(dir + "/" + kReferenceFile, reference_->layout(), {{"ref.", ref.data()}});
  }
}

// Restores the newest valid checkpoint; what the interrupted run logged after it is replayed, so
// it is dropped from metrics.jsonl. A fresh run starts a fresh log.
void GrpoRun::resume() {
  std::string dir;  // rank 0 chooses (it alone locks the run directory and may tidy it)
  if (comm_.leader())
    if (const std::optional<CheckpointRef> c = start_point(checkpoints_, cfg_.resume, rep_)) dir = c->dir;
  dir = comm_.broadcast(dir);
  if (dir.empty()) {
    metrics_.retain([](const nlohmann::json&) { return false; });
    return;
  }
  const TrainerState st = load_checkpoint(dir, *trainer_);
  if (st.seed != cfg_.seed)
    config_fail("{}: checkpoint seed {} differs from `seed` {}", dir, st.seed, cfg_.seed);
  step_ = st.step;
  reward_ema_ = st.extra.value("reward_ema", 0.0);
  if (reference_) {
    std::vector<float> ref(reference_->layout().total);
    read_param_sets(dir + "/" + kReferenceFile, reference_->layout(), {{"ref.", ref.data()}});
    reference_->load_params(ref);
  }
  const int64_t at = step_;
  metrics_.retain([at](const nlohmann::json& r) {
    const int64_t s = r.value("step", int64_t(0));
    return r.value("kind", "") == "eval" ? s < at : s <= at;
  });
  rep_.note(fmt::format("resuming GRPO from {} (step {})", dir, step_));
}

void GrpoRun::evaluate(int64_t step, int problems) {
  // A file's held-out problems are finite: evaluate the levels that have some, each problem once.
  std::vector<int> levels;
  bool finite = false;
  for (int l = 1; l <= task_->num_levels(); ++l) {
    const uint64_t n = task_->count(l, tasks::Split::Heldout);
    finite = finite || n != UINT64_MAX;
    if (n == 0) continue;
    levels.push_back(l);
    problems = int(std::min<uint64_t>(uint64_t(problems), n));
  }
  if (levels.empty()) problems = 0;
  if (problems == 0) {
    if (step == 0) rep_.note(fmt::format("{}: no held-out problems to evaluate on (`heldout_fraction`)",
                                         task_->name()));
    return;
  }
  EvalPlan plan;
  plan.phase = "grpo", plan.step = step, plan.problems = problems, plan.seed = cfg_.eval_seed;
  if (finite) plan.levels = levels;
  evaluate_levels(*lm_.model, lm_.tokenizer, *task_, plan, metrics_, rep_, comm_);
}

// A verifier that failed (an outside program that hung, crashed or answered garbage) gave reward 0
// and the run goes on; each step's failures over all ranks are counted, and this rank's reasons
// logged (with a count and a prompt each). Returns the count.
int GrpoRun::report_verifier_failures(const std::vector<Rollout>& rollouts, int64_t step) {
  int mine = 0;
  nlohmann::json reasons = nlohmann::json::object();  // this rank's: reason -> count, a prompt
  for (const Rollout& r : rollouts) {
    if (!r.score.verifier_failed) continue;
    ++mine;
    nlohmann::json& e = reasons[r.score.reason];
    if (e.is_null()) e = {{"count", 0}, {"prompt", r.problem.prompt}};
    e["count"] = e["count"].get<int>() + 1;
  }
  const int all = int(comm_.all_reduce_sum(double(mine)));
  if (all == 0) return 0;
  metrics_.write(records::Event{"verifier_failed", step, {{"count", all}, {"reasons", reasons}}});
  std::string shown;
  for (const auto& [reason, e] : reasons.items())
    shown += fmt::format("{}{} x{}", shown.empty() ? "" : "; ", reason, e["count"].get<int>());
  rep_.note(fmt::format("step {}: the verifier failed on {} completion(s), reward 0 ({})", step, all,
                        shown.empty() ? "on other ranks" : shown));
  return all;
}

// Rollouts -> rewards and advantages -> policy update -> one Grpo record.
void GrpoRun::step_once(int64_t step) {
  Transformer& model = *lm_.model;
  // 1. Rollouts: G samples of each prompt, each completion its own RNG sequence (numbered over
  // the whole step, so a rank samples exactly what one process samples for its prompts).
  const auto all_problems = step_problems(*task_, cfg_, levels_, step);
  const size_t share = all_problems.size() / size_t(comm_.size());
  const size_t mine = share * size_t(comm_.rank());  // this rank's first completion
  const std::vector<tasks::Problem> problems(all_problems.begin() + ptrdiff_t(mine),
                                             all_problems.begin() + ptrdiff_t(mine + share));
  RolloutConfig rc;
  rc.generation.max_new_tokens = cfg_.max_new_tokens;
  rc.generation.sampling = {cfg_.temperature, 0, 1.0f, cfg_.seed};
  const auto t0 = Clock::now();
  const uint64_t first_sequence = uint64_t(step) * all_problems.size() + mine;
  const CommTraffic before = wire().traffic();
  serve::PoolStats pool;
  std::vector<Rollout> rollouts;
  if (remote_) {
    remote_->publish(model, step);
    rollouts = remote_->rollout(*task_, problems, rc, model.config().max_position_embeddings,
                                first_sequence);
    pool = remote_->take_stats();
    for (const std::string& e : pool.events) rep_.note(fmt::format("step {}: {}", step + 1, e));
  } else {
    rollouts = rollout(model, lm_.tokenizer, *task_, problems, rc, first_sequence);
  }
  const double rollout_s = seconds_since(t0);
  const int verifier_failures = report_verifier_failures(rollouts, step + 1);
  // 2. Rewards and advantages over the whole step (a batch-wide std needs every group); each rank
  // keeps its own rows. Dynamic sampling keeps the groups whose rewards differ.
  const RolloutSummary rs = summarize(rollouts, comm_);
  const auto all_advantages = group_advantages(rs.rewards, cfg_.group_size, cfg_.scaling);
  const std::vector<double> advantages(all_advantages.begin() + ptrdiff_t(mine),
                                       all_advantages.begin() + ptrdiff_t(mine + share));
  std::vector<int> rows;
  int groups_used = 0;
  const int first_group = int(mine) / cfg_.group_size;
  const int my_groups = int(share) / cfg_.group_size;
  if (cfg_.dynamic_sampling) {
    for (int g : informative_groups(rs.rewards, cfg_.group_size)) {
      ++groups_used;
      if (g < first_group || g >= first_group + my_groups) continue;
      for (int k = 0; k < cfg_.group_size; ++k)
        rows.push_back((g - first_group) * cfg_.group_size + k);
    }
  } else {
    groups_used = int(rs.rewards.size()) / cfg_.group_size;
    rows.resize(rollouts.size());
    std::iota(rows.begin(), rows.end(), 0);
  }
  // 3. Policy updates against the sampling policy's log-probabilities.
  const auto t1 = Clock::now();
  update_.lr = trainer_->config().lr.at(step);
  const PolicyUpdateStats us = policy_update(model, trainer_->optimizer(), reference_.get(),
                                             rollouts, rows, advantages, update_, wire());
  const double update_s = seconds_since(t1);
  reward_ema_ = step == 0 ? rs.reward_mean : 0.9 * reward_ema_ + 0.1 * rs.reward_mean;
  records::Grpo r;
  r.step = step + 1, r.reward_mean = rs.reward_mean, r.reward_std = rs.reward_std;
  r.accuracy = rs.correct, r.format_rate = rs.formed, r.mean_length = rs.length;
  r.loss = us.loss, r.entropy = us.entropy, r.kl = us.kl, r.clip_fraction = us.clip_fraction;
  r.ratio = us.ratio, r.grad_norm = us.grad_norm, r.skipped = us.skipped;
  r.groups_used = groups_used;
  r.rollout_tokens_per_s = double(rs.tokens) / rollout_s;
  r.update_tokens_per_s = groups_used == 0 ? 0.0 : double(us.tokens) / update_s;
  r.lr = update_.lr;
  const MismatchStats& mm = us.mismatch;
  r.mismatch_mean_abs = mm.mean_abs_prob_diff, r.mismatch_max_abs = mm.max_abs_prob_diff;
  r.mismatch_k1 = mm.kl_k1, r.mismatch_k3 = mm.kl_k3;
  r.ppl_rollout = mm.rollout_ppl, r.ppl_train = mm.train_ppl;
  r.ratio_outside_2 = mm.frac_beyond_2x, r.ratio_outside_1_25 = mm.frac_beyond_1_25x;
  const CorrectionStats& cs = us.correction;
  r.correction_weight_mean = cs.mean_weight, r.correction_weight_max = cs.max_weight;
  r.correction_ess = cs.ess, r.correction_masked = cs.masked_fraction;
  r.sync_bytes = pool.sync_bytes, r.sync_ms = pool.sync_ms, r.retries = pool.retries;
  r.stale = pool.stale, r.servers = pool.servers_up;
  r.step_ms = 1000 * seconds_since(t0);
  r.ranks = comm_.size();
  r.comm_bytes = int64_t(wire().traffic().bytes_sent - before.bytes_sent);
  r.verifier_failures = verifier_failures;
  metrics_.write(r);
  if (us.skipped > 0)
    rep_.note(fmt::format("step {}: non-finite loss or gradient, {} update(s) skipped", step + 1,
                          us.skipped));
  rep_.update(step + 1, fmt::format("reward {:.2f} | acc {:.0f}% | {} groups", reward_ema_,
                                    100 * rs.correct, r.groups_used));
}

GrpoRunResult GrpoRun::run() {
  fs::create_directories(cfg_.out_dir);
  resume();
  install_stop_handler();
  rep_.begin("grpo", cfg_.steps);
  rep_.update(step_);
  const auto start = Clock::now();
  // A stop (SIGINT, SIGTERM) is agreed by every rank, so all leave after the same step.
  bool stopping = comm_.any(stop_requested());
  for (; step_ < cfg_.steps && !stopping; ++step_) {
    if (step_ == 0 && cfg_.initial_eval) evaluate(step_, cfg_.final_eval_problems);
    else if (cfg_.eval_every > 0 && step_ > 0 && step_ % cfg_.eval_every == 0)
      evaluate(step_, cfg_.eval_problems);
    step_once(step_);
    stopping = comm_.any(stop_requested());
    const bool last = step_ + 1 == cfg_.steps;
    if (comm_.leader() && cfg_.checkpoint_every > 0 && !last &&
        ((step_ + 1) % cfg_.checkpoint_every == 0 || stopping))
      checkpoints_.save(step_ + 1, [&](const std::string& dir) { write_state(dir, step_ + 1); });
  }
  if (step_ == cfg_.steps && cfg_.final_eval_problems > 0) evaluate(step_, cfg_.final_eval_problems);
  GrpoRunResult result;
  result.seconds = seconds_since(start);
  result.steps_done = step_;
  result.interrupted = step_ < cfg_.steps;
  rep_.end();
  result.model_dir = cfg_.out_dir + "/model";
  if (comm_.leader()) {
    fs::remove_all(result.model_dir);
    save_checkpoint(result.model_dir, *trainer_,
                    {step_, trainer_->optimizer().step(), cfg_.seed, step_, {{"reward_ema", reward_ema_}}},
                    [&](const std::string& d) { save_tokenizer(lm_.tokenizer, d); });
  }
  comm_.barrier();  // the model is there for every rank to load
  return result;
}

}  // namespace

GrpoRunResult run_grpo(const GrpoRunConfig& cfg, MetricsLog& metrics, Reporter& reporter,
                       Communicator& comm) {
  GrpoRun run(cfg, metrics, reporter, comm);
  return run.run();
}

}  // namespace tandem
