#include "tandem/recipes/sft.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>
#include <utility>

#include "tandem/comm/world.h"
#include "tandem/core/clock.h"
#include "tandem/core/error.h"
#include "tandem/core/progress.h"
#include "tandem/core/reporter.h"
#include "tandem/core/signals.h"
#include "tandem/data/dataset.h"
#include "tandem/data/packing.h"
#include "tandem/data/sft_batches.h"
#include "tandem/data/tasks/task.h"
#include "tandem/io/model_files.h"
#include "tandem/model/presets.h"
#include "tandem/recipes/evaluation.h"
#include "tandem/recipes/model_dir.h"
#include "tandem/recipes/report.h"
#include "tandem/recipes/run_start.h"
#include "tandem/recipes/sft_state.h"
#include "tandem/train/checkpoint.h"
#include "tandem/train/checkpoint_manager.h"
#include "tandem/train/diloco.h"
#include "tandem/train/fault_hooks.h"

namespace fs = std::filesystem;

namespace tandem {

namespace {

class SftRun {
 public:
  SftRun(const SftConfig& cfg, MetricsLog& metrics, Reporter& reporter, Communicator& comm);
  SftResult run();

 private:
  void start();  // fresh, or from the newest checkpoint that verifies (cfg.resume)
  void restore(const std::string& dir);
  void restart_from_scratch();
  void step_once();
  void on_nonfinite(int64_t batch, const StepStats& s);
  void on_spike(int64_t batch, const StepStats& s);
  void check_failures(const std::string& what);
  void periodic_checkpoint(int64_t step);
  std::string save(int64_t step);
  void log_eval(int64_t step);
  records::Validation validation_loss(int64_t step, Communicator& comm);
  void open_data();
  std::vector<Batch> my_micro_batches(int64_t b);
  Communicator& wire() { return device_comm_ ? *device_comm_ : comm_; }  // the gradients' way
  DilocoConfig diloco() const { return {cfg_.diloco_steps, cfg_.outer_lr, cfg_.outer_momentum}; }
  // DiLoCo steps know only their own rank's tokens: the round's are summed when it ends.
  int64_t diloco_tokens(int64_t mine) {
    round_tokens_ += mine;
    if (!outer_->due(trainer_->steps_done())) return 0;
    return int64_t(comm_.all_reduce_sum(double(std::exchange(round_tokens_, 0))));
  }
  SpikeRule spike_rule() const {  // off (z = 0) where the ranks' losses differ: DiLoCo
    SpikeRule r = cfg_.spike;
    if (cfg_.diloco_steps > 0 && comm_.size() > 1) r.z = 0;
    return r;
  }

  const SftConfig& cfg_;
  MetricsLog& metrics_;
  Reporter& rep_;
  Communicator& comm_;
  std::unique_ptr<Communicator> device_comm_;  // the gradients' transport, when not comm_
  int micro_ = 0;  // problems per micro-batch
  std::unique_ptr<tasks::Task> task_;  // trained on (no `data`) and evaluated; may be null
  std::unique_ptr<ExampleSource> source_;  // the rows: the task's problems or the user's data
  const Dataset* dataset_ = nullptr;       // source_, when it is the user's data
  std::unique_ptr<Packer> packer_;         // stream-packed rows (cfg.pack), or:
  int whole_row_tokens_ = 0;               // > 0: whole records share rows; 0: one per row
  std::string rows_;                       // the layout in words, as checkpoints record it
  int32_t pad_ = 0;
  Loaded<Transformer> lm_;
  std::unique_ptr<Trainer> trainer_;
  std::unique_ptr<OuterStep> outer_;  // DiLoCo
  CheckpointManager ckpts_;
  SftLoopState st_;
  SftResult result_;
  int checkpoint_failures_ = 0;
  int64_t tokens_here_ = 0;  // trained by this process, for throughput
  int64_t round_tokens_ = 0;  // DiLoCo: this rank's tokens since the last synchronisation
  double loss_ema_ = NAN;
  Clock::time_point start_ = Clock::now();
};

SftRun::SftRun(const SftConfig& cfg, MetricsLog& metrics, Reporter& reporter, Communicator& comm)
    : cfg_(cfg), metrics_(metrics), rep_(reporter), comm_(comm),
      task_(cfg.task.empty() ? nullptr : tasks::make_task(cfg.task)), ckpts_(cfg.out_dir + "/checkpoints", cfg.keep_last),
      st_(cfg.spike) {
  if (cfg.levels.size() != cfg.level_weights.size())
    config_fail("`level_weights` needs one weight per entry of `levels` ({}), got {}",
                cfg.levels.size(), cfg.level_weights.size());
  if (cfg.steps <= 0) config_fail("`steps` must be positive, got {}", cfg.steps);
  if (cfg.batch <= 0) config_fail("`batch` must be positive, got {}", cfg.batch);
  if (cfg.micro_batch == 0 && cfg.batch % comm.size() != 0)
    config_fail("`batch` ({}) must split evenly over the {} ranks", cfg.batch, comm.size());
  micro_ = cfg.micro_batch > 0 ? cfg.micro_batch : cfg.batch / comm.size();
  if (cfg.micro_batch < 0 || cfg.batch % micro_ != 0)
    config_fail("`micro_batch` ({}) must divide `batch` ({})", cfg.micro_batch, cfg.batch);
  if ((cfg.batch / micro_) % comm.size() != 0)
    config_fail("the {} micro-batches of a step (`batch` / `micro_batch`) must split evenly over "
                "the {} ranks", cfg.batch / micro_, comm.size());
  if (cfg.zero != 0 && cfg.zero != 1) config_fail("`zero` must be 0 or 1, got {}", cfg.zero);
  if (cfg.diloco_steps < 0) config_fail("`diloco_steps` must be 0 or more, got {}", cfg.diloco_steps);
  if (cfg.diloco_steps > 0) {
    if (cfg.zero != 0)
      config_fail("`diloco_steps` and `zero` do not combine: DiLoCo keeps each rank's moments whole");
    if (cfg.checkpoint_every % cfg.diloco_steps != 0)
      config_fail("`checkpoint_every` ({}) must be a multiple of `diloco_steps` ({}): checkpoints "
                  "are taken when the ranks agree", cfg.checkpoint_every, cfg.diloco_steps);
    if (!(cfg.outer_lr > 0)) config_fail("`outer_lr` must be positive, got {}", cfg.outer_lr);
    if (!(cfg.outer_momentum >= 0 && cfg.outer_momentum < 1))
      config_fail("`outer_momentum` must be in [0, 1), got {}", cfg.outer_momentum);
  }
  if (cfg.max_failures <= 0) config_fail("`max_failures` must be positive, got {}", cfg.max_failures);
  if (!task_ && cfg.data.empty()) config_fail("nothing to train on: give `task` or `data`");
  if (task_) check_levels(*task_, cfg.levels, "levels");
  if (!cfg.init_from.empty() && !cfg.tokenizer.empty())
    config_fail("`tokenizer` is for a new model; `init_from` brings its own ({})", cfg.init_from);
  if (!cfg.init_from.empty()) {
    lm_ = load_trainable(cfg.init_from, cfg.backend);
  } else {
    lm_.backend = make_backend(cfg.backend);
    lm_.tokenizer = cfg.tokenizer.empty() ? demo_tokenizer() : load_tokenizer(cfg.tokenizer);
    lm_.model = std::make_unique<Transformer>(*lm_.backend,
                                              model_preset(cfg.preset, lm_.tokenizer.vocab_size()));
    lm_.model->init_random(cfg.seed);
  }
  if (cfg.deterministic) lm_.backend->set_batch_invariant(true);
  pad_ = std::max(lm_.tokenizer.find_token("<|endoftext|>"), 0);
  open_data();
  TrainConfig tc;
  tc.lr = {cfg.lr, cfg.min_lr, cfg.warmup, cfg.steps};
  tc.adamw.weight_decay = cfg.weight_decay;
  tc.max_grad_norm = cfg.max_grad_norm;
  tc.shard_optimizer = cfg.zero == 1;
  tc.overlap = cfg.overlap;
  device_comm_ = make_device_communicator(comm, *lm_.backend);  // NCCL for a GPU under mpirun
  // DiLoCo's inner steps are the rank's own: no collective until the synchronisation.
  trainer_ = std::make_unique<Trainer>(*lm_.model, tc,
                                       cfg.diloco_steps > 0 ? single_process() : wire());
  if (cfg.diloco_steps > 0) {
    outer_ = std::make_unique<OuterStep>(*lm_.model, diloco());
    if (comm.size() > 1 && cfg.spike.z > 0) {
      st_ = SftLoopState(spike_rule());
      rep_.note("the loss-spike rule is off under DiLoCo with several ranks: each rank sees its "
                "own loss, and a rollback must be taken by all");
    }
  }
}

void SftRun::open_data() {
  const int context = lm_.model->config().max_position_embeddings;
  nlohmann::json details;
  bool text_only = false;
  Dataset* data = nullptr;
  if (cfg_.data.empty()) {
    source_ = std::make_unique<TaskExamples>(*task_, lm_.tokenizer,
                                             SftMix{cfg_.levels, cfg_.level_weights}, cfg_.seed);
  } else {
    DataOptions o;
    o.files = cfg_.data, o.weights = cfg_.data_weights, o.val_fraction = cfg_.val_fraction;
    o.shuffle = cfg_.shuffle, o.seed = cfg_.seed, o.keep_thinking = cfg_.keep_thinking;
    o.skip_bad = cfg_.skip_bad, o.skip_long = cfg_.skip_long;
    o.max_tokens = context + 1;  // inputs drop the last token
    auto owned = std::make_unique<Dataset>(o, lm_.tokenizer, &rep_);
    data = owned.get();
    for (const Dataset::FileInfo& f : data->files()) {
      result_.bad_lines += int64_t(f.bad_lines);
      rep_.note(fmt::format("{}: {} records ({} train, {} validation){}", f.path, f.records,
                            f.train, f.val,
                            f.bad_lines ? fmt::format(", {} bad lines skipped", f.bad_lines) : ""));
    }
    for (const std::string& bad : data->bad_line_samples()) rep_.note("skipped: " + bad);
    text_only = data->text_only();
    details = data->describe();
    details["bad_lines"] = result_.bad_lines;
    dataset_ = data;
    source_ = std::move(owned);
  }
  const bool stream = cfg_.pack > 0 || (cfg_.pack < 0 && text_only);
  if (stream) {
    const int T = cfg_.seq_len > 0 ? cfg_.seq_len : context;
    if (T > context)
      config_fail("`seq_len` ({}) exceeds the model's context ({})", cfg_.seq_len, context);
    packer_ = std::make_unique<Packer>(*source_, cfg_.batch, T);
    // A packed record may run on over several rows; it is cut, and counted, only past this many
    // (a .txt paragraph is still cut into pieces of about the context when the file is read).
    constexpr int kPackedSpan = 16;
    if (data) data->set_train_max_tokens(kPackedSpan * T + 1);
    rep_.note(fmt::format("packing records into rows of {} tokens", T));
  } else if (cfg_.pack < 0) {
    // Whole records share rows: as long as the context, or 1024 for a short one (records of ~100
    // tokens then spread evenly over a few rows; attention skips the other records either way).
    constexpr int kWholeRowTokens = 1024;
    whole_row_tokens_ = cfg_.seq_len > 0 ? cfg_.seq_len : std::max(context, kWholeRowTokens);
  }
  rows_ = stream ? "stream" : whole_row_tokens_ > 0 ? "whole-records" : "padded";
  details["packed_rows"] = stream ? (cfg_.seq_len > 0 ? cfg_.seq_len : context) : 0;
  details["whole_record_rows"] = whole_row_tokens_;
  if (data) metrics_.write(records::Event{"data", 0, details});
}

// The mean NLL of the first `val_records` validation records, teacher-forced, each rank scoring
// every size()-th micro-batch of them.
records::Validation SftRun::validation_loss(int64_t step, Communicator& comm) {
  const uint64_t n = cfg_.val_records > 0
                         ? std::min<uint64_t>(dataset_->val_size(), uint64_t(cfg_.val_records))
                         : dataset_->val_size();
  double nll_sum = 0, tokens = 0;
  std::vector<float> nll, entropy;
  for (uint64_t from = uint64_t(comm.rank()) * micro_; from < n; from += uint64_t(micro_) * comm.size()) {
    std::vector<Example> rows;
    for (uint64_t k = from; k < std::min<uint64_t>(n, from + micro_); ++k)
      rows.push_back(dataset_->val_example(k));
    const Batch b = pad_batch(rows, pad_);
    lm_.model->forward(b.ids, b.targets, b.B, b.T);
    nll.resize(b.ids.size()), entropy.resize(b.ids.size());
    lm_.model->read_token_stats(nll.data(), entropy.data());
    for (size_t i = 0; i < b.targets.size(); ++i)
      if (b.targets[i] >= 0) nll_sum += nll[i], tokens += 1;
  }
  nll_sum = comm.all_reduce_sum(nll_sum), tokens = comm.all_reduce_sum(tokens);
  const double loss = tokens > 0 ? nll_sum / tokens : NAN;
  return {step, loss, std::exp(loss), int64_t(tokens), int64_t(n)};
}

void SftRun::restart_from_scratch() {  // the state before step 0, rebuilt from the config
  if (cfg_.init_from.empty()) {
    lm_.model->init_random(cfg_.seed);
  } else {
    lm_.model->load_params(load_model_dir(cfg_.init_from).params);
  }
  if (outer_) outer_ = std::make_unique<OuterStep>(*lm_.model, diloco());
  trainer_->optimizer().reset();
  trainer_->set_steps_done(0);
  st_ = SftLoopState(spike_rule());
  if (packer_) packer_->seek({});
}

void SftRun::restore(const std::string& dir) {
  const TrainerState ts = load_checkpoint(dir, *trainer_);
  st_.restore(ts, dir + "/trainer_state.json");
  if (packer_) packer_->seek({st_.data, st_.pack_example, st_.pack_offset});
  if (outer_) {
    const std::string note = outer_->restore(dir, *lm_.model, trainer_->optimizer(), comm_);
    if (!note.empty()) rep_.note(note);
  }
}

void SftRun::start() {
  fs::create_directories(cfg_.out_dir);
  std::string from;  // rank 0 chooses (it alone locks the run directory and may tidy it)
  if (comm_.leader())
    if (const std::optional<CheckpointRef> c = start_point(ckpts_, cfg_.resume, rep_)) from = c->dir;
  from = comm_.broadcast(from);
  if (from.empty()) return;
  restore(from);
  for (const std::string& w : settings_changes(st_.settings, run_settings(cfg_))) rep_.note(w);
  // A checkpoint from before whole-record rows (the default for task data since #19) names no
  // layout: it trained stream-packed rows where this run does, else one record per padded row.
  const std::string was = !st_.rows.empty() ? st_.rows : rows_ == "stream" ? "stream" : "padded";
  if (was != rows_)
    rep_.note(
        fmt::format("warning: the checkpoint was trained on {} rows and this run makes {} "
                    "rows{}; the run will not match an uninterrupted one",
                    was, rows_, was == "padded" ? " (--no-pack makes padded rows)" : ""));
  result_.resumed_from = trainer_->steps_done();
  rep_.note(fmt::format("resuming from {} (step {}, next batch {})", from, trainer_->steps_done(),
                        st_.data));
  metrics_.write(records::Event{"resume", trainer_->steps_done(),
                                {{"checkpoint", from}, {"next_batch", st_.data}}});
}

void SftRun::log_eval(int64_t step) {
  EvalPlan plan;
  plan.step = step, plan.problems = cfg_.eval_problems, plan.seed = cfg_.seed;
  // The ranks share the problems when they hold one model; between DiLoCo syncs rank 0 evaluates
  // its own.
  const bool one_model = !outer_ || outer_->due(step);
  if (!one_model && !comm_.leader()) return;
  Communicator& comm = one_model ? comm_ : single_process();
  if (dataset_ && dataset_->val_size() > 0) {
    const records::Validation v = validation_loss(step, comm);
    metrics_.write(v);
    result_.val_loss = v.loss;
    rep_.note(fmt::format("step {}: validation loss {:.4f}, perplexity {:.3f} ({} records, {} "
                          "tokens)", step, v.loss, v.perplexity, v.records, v.tokens));
  }
  if (task_) evaluate_levels(*lm_.model, lm_.tokenizer, *task_, plan, metrics_, rep_, comm);
}

void SftRun::check_failures(const std::string& what) {
  if (st_.failures < cfg_.max_failures) return;
  const auto good = ckpts_.latest_valid().checkpoint;
  const std::string last = good ? good->dir : "none yet";
  metrics_.write(records::Event{"abort", trainer_->steps_done(),
                                {{"failures", st_.failures}, {"reason", what}}});
  config_fail("training stopped after {} consecutive failures (the last: {}); the newest good "
              "checkpoint is {}. Try a lower `lr` or `max_grad_norm`, or raise `max_failures`",
              st_.failures, what, last);
}

void SftRun::on_nonfinite(int64_t batch, const StepStats& s) {
  ++result_.skipped_steps, ++st_.failures;
  const int64_t step = trainer_->steps_done();
  metrics_.write(records::Event{"nonfinite", step,
                                {{"batch", batch},
                                 {"loss", records::finite_or_null(s.loss)},
                                 {"grad_norm", records::finite_or_null(s.grad_norm)}}});
  const std::string what = fmt::format(
      "step {} (batch {}): non-finite loss or gradient (loss {:.4g}, gradient norm {:.4g})", step,
      batch, s.loss, s.grad_norm);
  rep_.note(what + ": update skipped");
  check_failures(what);
}

void SftRun::on_spike(int64_t batch, const StepStats& s) {
  ++result_.rollbacks, ++st_.failures;
  const int64_t step = trainer_->steps_done();
  const double z = st_.guard.z_score(s.loss), typical = st_.guard.typical();
  const std::string what = fmt::format(
      "step {} (batch {}): loss {:.4g} is a spike, {:.1f} sigma (of log-loss) above the last {} "
      "steps' {:.4g}",
      step, batch, s.loss, z, st_.guard.count(), typical);
  check_failures(what);
  const int failures = st_.failures;
  std::string dir;  // rank 0 chooses the checkpoint, every rank goes back to it
  if (comm_.leader()) {
    const CheckpointManager::Choice c = ckpts_.prepare_resume();
    for (const std::string& note : c.notes) rep_.note(note);
    if (c.checkpoint) dir = c.checkpoint->dir;
  }
  dir = comm_.broadcast(dir);
  if (!dir.empty()) restore(dir);
  else restart_from_scratch();
  // Skip every batch since that checkpoint, the offending one included.
  const int64_t from = st_.data;
  st_.failures = failures, st_.data = batch + 1;
  const std::string to = !dir.empty() ? dir : "the initial weights";
  metrics_.write(records::Event{"spike_rollback", step,
                                {{"batch", batch},
                                 {"loss", s.loss},
                                 {"z", z},
                                 {"window_typical", typical},
                                 {"rolled_back_to", to},
                                 {"resume_step", trainer_->steps_done()},
                                 {"skipped_batches", {from, batch}}}});
  rep_.note(fmt::format("{}: rolled back to {} (step {}), skipping batches {}..{}", what, to,
                  trainer_->steps_done(), from, batch));
}

// Batch b's micro-batches in order, this rank's consecutive share of them. Packed batches are
// made whole on every rank (the cursor moves the same everywhere) and cut into the shares.
std::vector<Batch> SftRun::my_micro_batches(int64_t b) {
  const int per_rank = cfg_.batch / micro_ / comm_.size();
  std::vector<Batch> out;
  const Batch packed = packer_ ? packer_->batch(b) : Batch{};
  for (int k = 0; k < per_rank; ++k) {
    const int m = comm_.rank() * per_rank + k;
    out.push_back(
        packer_ ? batch_rows(packed, m * micro_, micro_)
                : sft_batch(*source_, pad_, b, cfg_.batch, m * micro_, micro_, whole_row_tokens_));
  }
  return out;
}

void SftRun::step_once() {
  const FaultHooks& hooks = FaultHooks::get();
  const int64_t b = st_.data;
  const std::vector<Batch> micro = my_micro_batches(b);
  if (hooks.nan_batches.contains(b)) trainer_->inject_nan_gradient();
  const CommTraffic before = wire().traffic();
  StepStats s = trainer_->step(micro);
  if (outer_) s.tokens = diloco_tokens(s.tokens);  // counted over the ranks at each sync
  if (outer_ && outer_->due(trainer_->steps_done())) outer_->sync(*lm_.model, comm_);
  const CommTraffic after = wire().traffic();
  if (hooks.spike_batches.contains(b)) s.loss *= 1000;
  st_.data = b + 1;
  st_.tokens += s.tokens, tokens_here_ += s.tokens;
  result_.target_tokens += s.target_tokens;
  const int64_t step = trainer_->steps_done();
  if (s.skipped) {
    on_nonfinite(b, s);
  } else if (st_.guard.is_spike(s.loss)) {
    on_spike(b, s);
    return;  // back at the checkpoint's step: nothing to log or save for this one
  } else {
    st_.guard.accept(s.loss);
    st_.failures = 0;
    loss_ema_ = std::isnan(loss_ema_) ? s.loss : 0.95 * loss_ema_ + 0.05 * s.loss;
    if ((step - 1) % std::max(cfg_.log_every, 1) == 0 || step == cfg_.steps) {
      const double secs = seconds_since(start_);
      metrics_.write(records::Train{step, b, s.loss, s.lr, s.grad_norm, st_.tokens,
                                    tokens_here_ / secs, secs, false, comm_.size(),
                                    int64_t(after.bytes_sent - before.bytes_sent),
                                    1e3 * (after.wait_seconds - before.wait_seconds)});
    }
  }
  if (cfg_.checkpoint_every > 0 && step % cfg_.checkpoint_every == 0 && step < cfg_.steps)
    periodic_checkpoint(step);
}

std::string SftRun::save(int64_t step) {
  // Every rank hands in its shard of a sharded optimizer's moments; rank 0 writes the checkpoint.
  std::optional<Moments> moments;
  if (trainer_->optimizer().sharded()) moments = trainer_->optimizer().moments();
  std::optional<OuterStep::Snapshot> outer;  // DiLoCo: every rank's inner moments
  if (outer_) outer = outer_->snapshot(trainer_->optimizer(), comm_);
  if (packer_) {  // the cursor at the next batch
    TANDEM_CHECK(packer_->position().batch == st_.data,
                 "[train] packed data at batch {}, the run at batch {}", packer_->position().batch,
                 st_.data);
    st_.pack_example = packer_->position().example, st_.pack_offset = packer_->position().offset;
  }
  if (!comm_.leader()) return ckpts_.dir_for(step);
  const auto t0 = Clock::now();
  st_.rows = rows_;
  const std::string dir = ckpts_.save(step, [&](const std::string& tmp) {
    write_training_state(tmp, *trainer_, st_.to_state(*trainer_, cfg_.seed, run_settings(cfg_)),
                         moments ? &*moments : nullptr);
    if (outer) outer_->write(tmp, *outer);
    save_tokenizer(lm_.tokenizer, tmp);
  });
  const double secs = seconds_since(t0);
  ++result_.checkpoints, result_.checkpoint_seconds += secs;
  metrics_.write(records::Checkpoint{step, dir, secs});
  return dir;
}

// A failed periodic checkpoint is reported and training goes on: the previous checkpoint is
// intact, and a full disk may be freed before the next one. Only a run of failures stops it.
void SftRun::periodic_checkpoint(int64_t step) {
  try {
    save(step);
    checkpoint_failures_ = 0;
  } catch (const Error& e) {
    ++checkpoint_failures_;
    const auto prev = ckpts_.latest_valid().checkpoint;
    metrics_.write(records::Event{"checkpoint_failed", step, {{"error", e.what()}}});
    rep_.note(fmt::format("checkpoint at step {} failed: {}; {}; training continues", step, e.what(),
                    prev ? prev->dir + " is intact" : "there is no earlier checkpoint"));
    TANDEM_CHECK(checkpoint_failures_ < cfg_.max_failures,
                 "training stopped: {} checkpoint writes in a row failed (the last: {})",
                 checkpoint_failures_, e.what());
  }
}

SftResult SftRun::run() {
  install_stop_handler();
  start();
  rep_.begin("train", cfg_.steps);
  start_ = Clock::now();
  // A stop (SIGINT, SIGTERM) is agreed by every rank, so all leave after the same step.
  const int64_t stop_after = FaultHooks::get().stop_after_step;
  const auto stop = [&] {
    return stop_requested() || (stop_after > 0 && trainer_->steps_done() >= stop_after);
  };
  // DiLoCo ranks agree only when they synchronise: a stop waits for the end of the round.
  const auto agreed_stop = [&] {
    return (!outer_ || outer_->due(trainer_->steps_done())) && comm_.any(stop());
  };
  while (trainer_->steps_done() < cfg_.steps && !agreed_stop()) {
    const int64_t step = trainer_->steps_done();
    if (cfg_.eval_every > 0 && step % cfg_.eval_every == 0 && step > 0) log_eval(step);
    if (cfg_.eval_every > 0 && step == 0 && dataset_) log_eval(0);  // where the curve starts
    step_once();
    rep_.update(trainer_->steps_done(),
               fmt::format("loss {:.3f} | {} tok/s", loss_ema_,
                           format_count(tokens_here_ / seconds_since(start_))));
  }
  result_.seconds = seconds_since(start_);
  result_.tokens_per_s = tokens_here_ / std::max(result_.seconds, 1e-9);
  result_.steps_done = trainer_->steps_done();
  result_.interrupted = result_.steps_done < cfg_.steps;
  if (dataset_) {
    if (cfg_.eval_every > 0 && !result_.interrupted) log_eval(result_.steps_done);  // the end point
    result_.truncated = int64_t(comm_.all_reduce_sum(double(dataset_->truncated())));
    result_.skipped_long = int64_t(comm_.all_reduce_sum(double(dataset_->skipped_long())));
    metrics_.write(
        records::Event{"data_end",
                       result_.steps_done,
                       {{"truncated", result_.truncated},
                        {"skipped_long", result_.skipped_long},
                        {"target_tokens", result_.target_tokens},
                        {"target_tokens_per_s", result_.target_tokens / result_.seconds}}});
  }
  rep_.end(fmt::format("loss {:.3f} | {} tok/s", loss_ema_, format_count(result_.tokens_per_s)));
  if (result_.interrupted)
    metrics_.write(records::Event{"stop", result_.steps_done, {{"reason", "signal"}}});
  // The last state is a checkpoint (the point to resume from) and, linked, the run's model/.
  // A last, shorter DiLoCo round (steps not a multiple of H) ends with a synchronisation too.
  if (outer_ && !outer_->due(result_.steps_done)) {
    outer_->sync(*lm_.model, comm_);
    st_.tokens += int64_t(comm_.all_reduce_sum(double(std::exchange(round_tokens_, 0))));
  }
  std::string last = ckpts_.dir_for(result_.steps_done);
  if (!comm_.any(comm_.leader() && fs::exists(last))) last = save(result_.steps_done);
  result_.model_dir = cfg_.out_dir + "/model";
  if (comm_.leader()) publish_checkpoint_copy(last, result_.model_dir);
  if (comm_.leader() && fs::exists(cfg_.out_dir + "/metrics.jsonl"))
    write_training_charts(cfg_.out_dir);
  comm_.barrier();  // the model is there for every rank to load
  result_.seconds = seconds_since(start_);  // the final checkpoint included
  return result_;
}

}  // namespace

SftResult run_sft(const SftConfig& cfg, MetricsLog& metrics, Reporter& reporter,
                  Communicator& comm) {
  SftRun run(cfg, metrics, reporter, comm);
  return run.run();
}

}  // namespace tandem
