#include "tandem/report/records.h"

#include <cmath>

namespace tandem::records {

using nlohmann::json;

json finite_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json to_json(const Train& r) {
  return {{"kind", "train"},          {"step", r.step},
          {"batch", r.batch},         {"loss", r.loss},
          {"lr", float(r.lr)},        {"grad_norm", r.grad_norm},
          {"tokens", r.tokens},       {"tokens_per_s", r.tokens_per_s},
          {"elapsed_s", r.elapsed_s}, {"skipped", r.skipped},
          {"ranks", r.ranks},         {"comm_bytes", r.comm_bytes},
          {"comm_wait_ms", r.comm_wait_ms}};
}

json to_json(const Eval& r) {
  return {{"kind", "eval"},          {"phase", r.phase},
          {"step", r.step},          {"level", r.level},
          {"problems", r.problems},  {"accuracy", r.accuracy},
          {"format_rate", r.format_rate}, {"mean_tokens", r.mean_tokens},
          {"final", r.final}};
}

json to_json(const Validation& r) {
  return {{"kind", "validation"}, {"step", r.step},       {"loss", finite_or_null(r.loss)},
          {"perplexity", finite_or_null(r.perplexity)}, {"tokens", r.tokens},
          {"records", r.records}};
}

json to_json(const Grpo& r) {
  return {{"kind", "grpo"},
          {"step", r.step},
          {"reward_mean", r.reward_mean},
          {"reward_std", r.reward_std},
          {"accuracy", r.accuracy},
          {"format_rate", r.format_rate},
          {"mean_length", r.mean_length},
          {"loss", r.loss},
          {"entropy", r.entropy},
          {"kl", r.kl},
          {"clip_fraction", r.clip_fraction},
          {"ratio", r.ratio},
          {"grad_norm", r.grad_norm},
          {"skipped", r.skipped},
          {"groups_used", r.groups_used},
          {"rollout_tokens_per_s", r.rollout_tokens_per_s},
          {"update_tokens_per_s", r.update_tokens_per_s},
          {"lr", float(r.lr)},
          {"mismatch_mean_abs", r.mismatch_mean_abs},
          {"mismatch_max_abs", r.mismatch_max_abs},
          {"mismatch_k1", r.mismatch_k1},
          {"mismatch_k3", r.mismatch_k3},
          {"ppl_rollout", r.ppl_rollout},
          {"ppl_train", r.ppl_train},
          {"ratio_outside_2", r.ratio_outside_2},
          {"ratio_outside_1_25", r.ratio_outside_1_25},
          {"correction_weight_mean", r.correction_weight_mean},
          {"correction_weight_max", r.correction_weight_max},
          {"correction_ess", r.correction_ess},
          {"correction_masked", r.correction_masked},
          {"sync_bytes", r.sync_bytes},
          {"sync_ms", r.sync_ms},
          {"step_ms", r.step_ms},
          {"retries", r.retries},
          {"stale", r.stale},
          {"servers", r.servers},
          {"ranks", r.ranks},
          {"comm_bytes", r.comm_bytes},
          {"verifier_failures", r.verifier_failures}};
}

json to_json(const Checkpoint& r) {
  return {{"kind", "checkpoint"}, {"step", r.step}, {"dir", r.dir}, {"seconds", r.seconds}};
}

json to_json(const Event& r) {
  json j = r.details.is_object() ? r.details : json::object();
  j["kind"] = "event";
  j["event"] = r.event;
  j["step"] = r.step;
  return j;
}

namespace {
// A number field: 0 when absent, NaN when null (written from a NaN or an infinity).
double num(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end()) return 0;
  return it->is_number() ? it->get<double>() : std::nan("");
}
int64_t count(const json& j, const char* key) {
  const double v = num(j, key);
  return std::isfinite(v) ? int64_t(v) : 0;
}

template <class Record, class Read>
std::vector<Record> of_kind(const std::vector<json>& all, const char* kind, Read read) {
  std::vector<Record> out;
  for (const json& j : all)
    if (j.is_object() && j.value("kind", "") == kind) out.push_back(read(j));
  return out;
}
}  // namespace

std::vector<Train> train_records(const std::vector<json>& all) {
  return of_kind<Train>(all, "train", [](const json& j) {
    return Train{count(j, "step"), count(j, "batch"), num(j, "loss"),
                 num(j, "lr"), num(j, "grad_norm"), count(j, "tokens"),
                 num(j, "tokens_per_s"), num(j, "elapsed_s"),
                 j.value("skipped", false), int(j.value("ranks", 1)),
                 count(j, "comm_bytes"), num(j, "comm_wait_ms")};
  });
}

std::vector<Eval> eval_records(const std::vector<json>& all) {
  return of_kind<Eval>(all, "eval", [](const json& j) {
    return Eval{j.value("phase", "sft"),       count(j, "step"),
                int(count(j, "level")),           int(count(j, "problems")),
                num(j, "accuracy"),      num(j, "format_rate"),
                num(j, "mean_tokens"),   j.value("final", false)};
  });
}

std::vector<Validation> validation_records(const std::vector<json>& all) {
  return of_kind<Validation>(all, "validation", [](const json& j) {
    return Validation{count(j, "step"), num(j, "loss"), num(j, "perplexity"), count(j, "tokens"),
                      count(j, "records")};
  });
}

std::vector<Grpo> grpo_records(const std::vector<json>& all) {
  return of_kind<Grpo>(all, "grpo", [](const json& j) {
    Grpo r;
    r.step = count(j, "step");
    r.reward_mean = num(j, "reward_mean"), r.reward_std = num(j, "reward_std");
    r.accuracy = num(j, "accuracy"), r.format_rate = num(j, "format_rate");
    r.mean_length = num(j, "mean_length"), r.loss = num(j, "loss");
    r.entropy = num(j, "entropy"), r.kl = num(j, "kl");
    r.clip_fraction = num(j, "clip_fraction"), r.ratio = num(j, "ratio");
    r.grad_norm = num(j, "grad_norm"), r.skipped = int(count(j, "skipped"));
    r.groups_used = int(count(j, "groups_used"));
    r.rollout_tokens_per_s = num(j, "rollout_tokens_per_s");
    r.update_tokens_per_s = num(j, "update_tokens_per_s");
    r.lr = num(j, "lr");
    r.mismatch_mean_abs = num(j, "mismatch_mean_abs"), r.mismatch_max_abs = num(j, "mismatch_max_abs");
    r.mismatch_k1 = num(j, "mismatch_k1"), r.mismatch_k3 = num(j, "mismatch_k3");
    r.ppl_rollout = num(j, "ppl_rollout"), r.ppl_train = num(j, "ppl_train");
    r.ratio_outside_2 = num(j, "ratio_outside_2"), r.ratio_outside_1_25 = num(j, "ratio_outside_1_25");
    r.correction_weight_mean = num(j, "correction_weight_mean");
    r.correction_weight_max = num(j, "correction_weight_max");
    r.correction_ess = num(j, "correction_ess"), r.correction_masked = num(j, "correction_masked");
    r.sync_bytes = count(j, "sync_bytes"), r.sync_ms = num(j, "sync_ms"), r.step_ms = num(j, "step_ms");
    r.retries = int(count(j, "retries")), r.stale = int(count(j, "stale"));
    r.servers = int(count(j, "servers"));
    r.ranks = int(j.value("ranks", 1)), r.comm_bytes = count(j, "comm_bytes");
    r.verifier_failures = int(count(j, "verifier_failures"));
    return r;
  });
}

}  // namespace tandem::records
