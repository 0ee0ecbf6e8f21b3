#include "tandem/recipes/sft_state.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "tandem/core/json_text.h"
#include "tandem/io/json_file.h"

namespace tandem {

TrainerState SftLoopState::to_state(Trainer& trainer, uint64_t seed,
                                    const nlohmann::json& run) const {
  TrainerState s;
  s.step = trainer.steps_done();
  s.adam_step = trainer.optimizer().step();
  s.seed = seed;
  s.data_position = data;
  s.extra = {{"tokens", tokens},
             {"failures", failures},
             {"spike_window", guard.to_json()},
             {"pack", {{"example", pack_example}, {"offset", pack_offset}}},
             {"rows", rows},
             {"settings", run}};
  return s;
}

void SftLoopState::restore(const TrainerState& state, const std::string& where) {
  data = state.data_position;
  const nlohmann::json extra = state.extra.is_object() ? state.extra : nlohmann::json::object();
  const JsonFields f(extra, where + ": extra");
  tokens = f.opt_int("tokens", 0).value_or(0);
  failures = int(f.opt_int("failures", 0, 1 << 30).value_or(0));
  pack_example = pack_offset = 0;
  if (const nlohmann::json* p = f.find("pack")) {
    const JsonFields pf(*p, where + ": extra.pack");
    pack_example = uint64_t(pf.opt_int("example", 0).value_or(0));
    pack_offset = uint64_t(pf.opt_int("offset", 0).value_or(0));
  }
  rows = f.opt_string("rows").value_or("");
  guard.reset();
  if (const nlohmann::json* w = f.find("spike_window")) guard.from_json(*w);
  settings = extra.value("settings", nlohmann::json::object());
}

nlohmann::json run_settings(const SftConfig& c) {
  return {{"task", c.task},
          {"preset", c.preset},
          {"init_from", c.init_from},
          {"seed", c.seed},
          {"steps", c.steps},
          {"batch", c.batch},
          {"lr", c.lr},
          {"min_lr", c.min_lr},
          {"warmup", c.warmup},
          {"weight_decay", c.weight_decay},
          {"max_grad_norm", c.max_grad_norm},
          {"levels", c.levels},
          {"level_weights", c.level_weights},
          {"data", c.data},
          {"data_weights", c.data_weights},
          {"val_fraction", c.val_fraction},
          {"shuffle", c.shuffle},
          {"keep_thinking", c.keep_thinking},
          {"skip_long", c.skip_long},
          {"tokenizer", c.tokenizer},
          {"pack", c.pack},
          {"seq_len", c.seq_len}};
}

std::vector<std::string> settings_changes(const nlohmann::json& saved, const nlohmann::json& now) {
  std::vector<std::string> out;
  if (!saved.is_object()) return out;
  for (const auto& [key, value] : now.items())
    if (saved.contains(key) && saved[key] != value) {
      out.push_back(
          fmt::format("warning: `{}` is {} now but was {} when the checkpoint was "
                      "written; the run will not match an uninterrupted one",
                      key, json_text(value), json_text(saved[key])));
    }
  return out;
}

}  // namespace tandem
