// Runs tandem's GRPO pieces on inputs written by grpo_oracle.py and writes what the PyTorch oracle
// checks. Three modes:
//   grpo_runner loss IN.safetensors OUT.safetensors
//     for every variant in the "variants" metadata (JSON list): advantages from the rewards, then
//     the loss, d loss / d logp and the diagnostics; when IN holds "weights" (rollout-correction
//     weights per token), the same again with them (loss.w.K, dlogp.w.K, stats.w.K).
//   grpo_runner correction IN.safetensors OUT.safetensors
//     measure_mismatch on rollout_logp, train_logp and mask ("mismatch"), then apply_correction
//     for every config in the "configs" metadata (JSON list of {mode, cap, low, high}): weights.K,
//     mask.K and stats.K.
//   grpo_runner step BACKEND MODEL_DIR IN.safetensors OUT.safetensors
//     for every variant: forward a prompt+completion batch through a model, logp = -nll, the GRPO
//     loss against the given old/ref logprobs and advantages, backward(-dloss/dlogp), and every
//     parameter gradient.
#include <cstdio>
#include <deque>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tandem/backend/backend.h"
#include "tandem/core/error.h"
#include "tandem/io/model_files.h"
#include "tandem/io/safetensors.h"
#include "tandem/io/safetensors_writer.h"
#include "tandem/model/transformer.h"
#include "tandem/rl/advantages.h"
#include "tandem/rl/grpo_loss.h"
#include "tandem/rl/rollout_correction.h"

using namespace tandem;

namespace {

template <typename T>
std::vector<T> read_as(const SafetensorsReader& in, const char* name, DType dtype) {
  const TensorInfo& info = in.get(name);
  TANDEM_CHECK(info.dtype == dtype, "[grpo_runner] {} has dtype {}, expected {}", name,
               dtype_name(info.dtype), dtype_name(dtype));
  const auto* p = reinterpret_cast<const T*>(in.data(info));
  return std::vector<T>(p, p + info.numel());
}

struct Variant {
  GrpoConfig loss;
  AdvantageScaling scaling = AdvantageScaling::GroupStd;
};

Variant parse_variant(const nlohmann::json& v) {
  Variant out;
  const std::string agg = v.at("aggregation"), scaling = v.value("scaling", "group");
  if (agg == "token")
    out.loss.aggregation = LossAggregation::Token;
  else if (agg == "sequence")
    out.loss.aggregation = LossAggregation::Sequence;
  else if (agg == "dr_grpo")
    out.loss.aggregation = LossAggregation::DrGrpo;
  else
    fail("[grpo_runner] unknown aggregation '{}'", agg);
  if (scaling == "group")
    out.scaling = AdvantageScaling::GroupStd;
  else if (scaling == "batch")
    out.scaling = AdvantageScaling::BatchStd;
  else if (scaling == "none")
    out.scaling = AdvantageScaling::None;
  else
    fail("[grpo_runner] unknown scaling '{}'", scaling);
  out.loss.epsilon = v.at("epsilon");
  if (v.contains("epsilon_high")) out.loss.epsilon_high = v.at("epsilon_high").get<double>();
  out.loss.beta = v.at("beta");
  out.loss.max_completion_length = v.value("max_completion_length", 0);
  out.loss.mask_truncated = v.value("mask_truncated", false);
  return out;
}

std::vector<Variant> variants(const SafetensorsReader& in) {
  std::vector<Variant> out;
  for (const auto& v : nlohmann::json::parse(in.metadata().at("variants")))
    out.push_back(parse_variant(v));
  return out;
}

// Keeps every output alive until the writer's write().
struct Outputs {
  SafetensorsWriter writer;
  std::deque<std::vector<double>> f64;
  std::deque<std::vector<float>> f32;
  std::deque<std::vector<uint8_t>> u8;
  void add(const std::string& name, std::vector<int64_t> shape, std::vector<double> v) {
    writer.add(name, DType::F64, std::move(shape), f64.emplace_back(std::move(v)).data());
  }
  void add(const std::string& name, std::vector<int64_t> shape, std::vector<float> v) {
    writer.add_f32(name, std::move(shape), f32.emplace_back(std::move(v)).data());
  }
  void add(const std::string& name, std::vector<int64_t> shape, std::vector<uint8_t> v) {
    writer.add(name, DType::U8, std::move(shape), u8.emplace_back(std::move(v)).data());
  }
  void add_result(const std::string& k, int N, int T, const GrpoResult& r) {
    add("loss." + k, {1}, std::vector<double>{r.loss});
    add("dlogp." + k, {N, T}, r.dlogp);
    const GrpoStats& s = r.stats;
    add("stats." + k, {5},
        std::vector<double>{s.clip_low, s.clip_high, s.clip_total, s.mean_kl, s.mean_ratio});
  }
};

int loss_mode(const std::string& in_path, const std::string& out_path) {
  const SafetensorsReader in = SafetensorsReader::open(in_path);
  const TensorInfo& shape = in.get("logp");
  const int N = int(shape.shape[0]), T = int(shape.shape[1]);
  const auto logp = read_as<float>(in, "logp", DType::F32);
  const auto old_logp = read_as<float>(in, "old_logp", DType::F32);
  const auto ref_logp = read_as<float>(in, "ref_logp", DType::F32);
  const auto mask = read_as<uint8_t>(in, "mask", DType::U8);
  const auto truncated = read_as<uint8_t>(in, "truncated", DType::U8);
  const auto rewards = read_as<double>(in, "rewards", DType::F64);
  const auto weights =
      in.find("weights") ? read_as<float>(in, "weights", DType::F32) : std::vector<float>();
  const int group_size = std::stoi(in.metadata().at("group_size"));
  Outputs out;
  const std::vector<Variant> vs = variants(in);
  for (size_t k = 0; k < vs.size(); ++k) {
    std::vector<double> adv = group_advantages(rewards, group_size, vs[k].scaling);
    GrpoBatch batch{N, T, logp, old_logp, ref_logp, adv, mask, truncated, 0};
    out.add_result(std::to_string(k), N, T, grpo_loss(batch, vs[k].loss));
    if (!weights.empty()) {
      batch.weights = weights;
      out.add_result("w." + std::to_string(k), N, T, grpo_loss(batch, vs[k].loss));
    }
    out.add("adv." + std::to_string(k), {N}, std::move(adv));
  }
  out.writer.write(out_path);
  return 0;
}

int correction_mode(const std::string& in_path, const std::string& out_path) {
  const SafetensorsReader in = SafetensorsReader::open(in_path);
  const TensorInfo& shape = in.get("rollout_logp");
  const int N = int(shape.shape[0]), T = int(shape.shape[1]);
  const auto rollout = read_as<float>(in, "rollout_logp", DType::F32);
  const auto train = read_as<float>(in, "train_logp", DType::F32);
  const auto mask = read_as<uint8_t>(in, "mask", DType::U8);
  Outputs out;
  const MismatchStats m = measure_mismatch(rollout, train, mask, N, T);
  out.add("mismatch", {9},
          std::vector<double>{double(m.tokens), m.mean_abs_prob_diff, m.max_abs_prob_diff, m.kl_k1,
                              m.kl_k3, m.rollout_ppl, m.train_ppl, m.frac_beyond_2x,
                              m.frac_beyond_1_25x});
  const auto configs = nlohmann::json::parse(in.metadata().at("configs"));
  for (size_t k = 0; k < configs.size(); ++k) {
    const auto& j = configs[k];
    CorrectionConfig c;
    c.mode = parse_rollout_correction(j.at("mode").get<std::string>());
    c.cap = j.value("cap", c.cap);
    c.low = j.value("low", c.low);
    c.high = j.value("high", c.high);
    Correction r = apply_correction(rollout, train, mask, N, T, c);
    const CorrectionStats& s = r.stats;
    const std::string key = std::to_string(k);
    out.add("weights." + key, {N, T}, std::move(r.weights));
    out.add("mask." + key, {N, T}, std::move(r.mask));
    out.add("stats." + key, {8},
            std::vector<double>{double(s.tokens), double(s.kept_tokens), double(s.sequences),
                                double(s.masked_sequences), s.masked_fraction, s.mean_weight,
                                s.max_weight, s.ess});
  }
  out.writer.write(out_path);
  return 0;
}

int step_mode(const std::string& backend, const std::string& model_dir, const std::string& in_path,
              const std::string& out_path) {
  auto be = make_backend(backend);
  const HostModel host = load_model_dir(model_dir);
  const SafetensorsReader in = SafetensorsReader::open(in_path);
  const TensorInfo& shape = in.get("ids");
  const int B = int(shape.shape[0]), T = int(shape.shape[1]), n = B * T;
  const auto ids = read_as<int32_t>(in, "ids", DType::I32);
  const auto targets = read_as<int32_t>(in, "targets", DType::I32);
  const auto old_logp = read_as<float>(in, "old_logp", DType::F32);
  const auto ref_logp = read_as<float>(in, "ref_logp", DType::F32);
  const auto adv = read_as<double>(in, "advantages", DType::F64);
  std::vector<uint8_t> mask(static_cast<size_t>(n));
  for (int k = 0; k < n; ++k) mask[k] = targets[k] >= 0;

  Transformer model(*be, host.config);
  model.load_params(host.params);
  Outputs out;
  const std::vector<Variant> vs = variants(in);
  for (size_t v = 0; v < vs.size(); ++v) {
    const std::string k = std::to_string(v);
    model.zero_grads();
    model.forward(ids, targets, B, T);
    const size_t count = static_cast<size_t>(n);
    std::vector<float> nll(count), entropy(count), logp(count);
    model.read_token_stats(nll.data(), entropy.data());
    for (int i = 0; i < n; ++i) logp[i] = -nll[i];
    const GrpoBatch batch{B, T, logp, old_logp, ref_logp, adv, mask, {}, 0};
    const GrpoResult r = grpo_loss(batch, vs[v].loss);
    model.backward(to_dnll(r.dlogp));
    out.add_result(k, B, T, r);
    out.add("logp." + k, {B, T}, std::move(logp));
    const std::vector<float> grads = model.read_grads();
    for (const ParamSpec& t : model.layout().tensors)
      out.add("grad." + k + "." + t.name, t.shape,
              std::vector<float>(grads.begin() + t.offset, grads.begin() + t.offset + t.numel));
  }
  out.writer.write(out_path);
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "loss" && argc == 4) return loss_mode(argv[2], argv[3]);
  if (mode == "step" && argc == 6) return step_mode(argv[2], argv[3], argv[4], argv[5]);
  if (mode == "correction" && argc == 4) return correction_mode(argv[2], argv[3]);
  std::fprintf(stderr,
               "usage: grpo_runner loss IN.safetensors OUT.safetensors\n"
               "       grpo_runner correction IN.safetensors OUT.safetensors\n"
               "       grpo_runner step BACKEND MODEL_DIR IN.safetensors OUT.safetensors\n");
  return 2;
} catch (const std::exception& e) {
  std::fprintf(stderr, "grpo_runner: %s\n", e.what());
  return 1;
}
