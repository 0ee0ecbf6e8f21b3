#include "tandem/train/checkpoint.h"

#include <filesystem>

#include "tandem/core/error.h"
#include "tandem/io/config_json.h"
#include "tandem/io/file.h"
#include "tandem/io/json_file.h"
#include "tandem/io/manifest.h"
#include "tandem/io/model_files.h"

namespace fs = std::filesystem;

namespace tandem {

void write_training_state(const std::string& dir, Trainer& trainer, const TrainerState& state,
                          const Moments* moments) {
  Transformer& model = trainer.model();
  const ParamLayout& layout = model.layout();
  std::vector<float> host = model.read_params();
  save_model_dir(dir, model.config(), host.data());
  TANDEM_CHECK(moments || !trainer.optimizer().sharded(),
               "[checkpoint] a sharded optimizer's moments must be gathered on every rank first");
  Moments mv = moments ? *moments : trainer.optimizer().moments();
  write_param_sets(dir + "/optimizer.safetensors", layout,
                   {{"m.", mv.m.data()}, {"v.", mv.v.data()}});
  const nlohmann::json js = {
      {"step", state.step},
      {"adam_step", state.adam_step},
      {"seed", state.seed},
      {"data_position", state.data_position},
      {"extra", state.extra.is_null() ? nlohmann::json::object() : state.extra}};
  write_json_file(dir + "/trainer_state.json", js);
}

void save_checkpoint(const std::string& dir, Trainer& trainer, const TrainerState& state,
                     const std::function<void(const std::string&)>& write_extra) {
  TANDEM_CHECK(!fs::exists(dir), "{}: checkpoint already exists; refusing to overwrite it", dir);
  write_dir_atomic(dir, [&](const std::string& tmp) {
    write_training_state(tmp, trainer, state);
    if (write_extra) write_extra(tmp);
    write_manifest(tmp);
  });
}

TrainerState load_checkpoint(const std::string& dir, Trainer& trainer) {
  if (fs::exists(dir + "/" + kManifestName)) {
    const std::string problem = verify_manifest(dir);
    TANDEM_CHECK(problem.empty(), "{}: damaged checkpoint: {}", dir, problem);
  }
  Transformer& model = trainer.model();
  const ModelConfig cfg = load_model_config(dir + "/config.json");
  const ParamLayout layout(cfg);
  TANDEM_CHECK(layout.total == model.layout().total &&
                   cfg.num_hidden_layers == model.config().num_hidden_layers,
               "{}/config.json: this checkpoint's shape ({} parameters) differs from the model "
               "being trained ({} parameters)",
               dir, layout.total, model.layout().total);
  std::vector<float> p(layout.total);
  Moments mv{std::vector<float>(layout.total), std::vector<float>(layout.total)};
  read_param_sets(dir + "/model.safetensors", layout, {{"", p.data()}});
  read_param_sets(dir + "/optimizer.safetensors", layout,
                  {{"m.", mv.m.data()}, {"v.", mv.v.data()}});
  model.load_params(p);
  trainer.optimizer().set_moments(mv);
  const std::string state_path = dir + "/trainer_state.json";
  const nlohmann::json js = read_json_file(state_path);
  const JsonFields f(js, state_path);
  TrainerState state;
  state.step = f.get_int("step", 0);
  state.adam_step = f.get_int("adam_step", 0);
  state.seed = uint64_t(f.get_int("seed", 0));
  state.data_position = f.get_int("data_position", 0);
  if (const auto* extra = f.find("extra")) state.extra = *extra;
  trainer.set_steps_done(state.step);
  trainer.optimizer().set_step(state.adam_step);
  return state;
}

}  // namespace tandem
