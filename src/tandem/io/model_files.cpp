#include "tandem/io/model_files.h"

#include <filesystem>
#include <set>

#include "tandem/core/error.h"
#include "tandem/io/config_json.h"
#include "tandem/io/file.h"
#include "tandem/io/safetensors.h"
#include "tandem/io/safetensors_writer.h"
#include "tandem/io/weight_files.h"

namespace tandem {

namespace {

// Fills the sets from `files`, which must hold exactly the layout's tensors under each prefix.
// `tied_head`: a tied model's file may also carry lm_head.weight (HF writes it for some models);
// transformers and vLLM ignore it then, and so do we, once its shape is checked.
void read_sets(const WeightFiles& files, const ParamLayout& layout,
               const std::vector<ParamSet>& sets, bool tied_head) {
  std::set<std::string, std::less<>> expected;
  for (const ParamSet& set : sets)
    for (const ParamSpec& t : layout.tensors) {
      const std::string name = set.prefix + t.name;
      expected.insert(name);
      files.read_f32(name, t.shape, set.data + t.offset);
    }
  if (tied_head)
    if (const WeightFiles::Entry* head = files.find("lm_head.weight")) {
      const ParamSpec* embed = layout.find("model.embed_tokens.weight");
      TANDEM_CHECK(head->info->shape == embed->shape,
                   "{}: tensor 'lm_head.weight': shape [{}] does not match the tied embedding's "
                   "[{}] (tie_word_embeddings is true)",
                   head->file->path(), fmt::join(head->info->shape, ", "),
                   fmt::join(embed->shape, ", "));
      expected.insert("lm_head.weight");
    }
  for (const auto& [name, entry] : files.tensors())
    TANDEM_CHECK(expected.count(name), "{}: unexpected tensor '{}' (not part of this model)",
                 entry.file->path(), printable_name(name));
}

}  // namespace

void read_param_sets(const std::string& path, const ParamLayout& layout,
                     const std::vector<ParamSet>& sets) {
  read_sets(WeightFiles::open_file(path), layout, sets, false);
}

void read_model_weights(const std::string& dir, const ModelConfig& config, float* params) {
  read_sets(WeightFiles::open_dir(dir), ParamLayout(config), {{"", params}},
            config.tie_word_embeddings);
}

static SafetensorsWriter param_writer(const ParamLayout& layout, const std::vector<ParamSet>& sets) {
  SafetensorsWriter writer;
  writer.set_metadata("format", "pt");
  for (const ParamSet& set : sets)
    for (const ParamSpec& t : layout.tensors)
      writer.add_f32(set.prefix + t.name, t.shape, set.data + t.offset);
  return writer;
}

void write_param_sets(const std::string& path, const ParamLayout& layout,
                      const std::vector<ParamSet>& sets) {
  param_writer(layout, sets).write(path);
}

std::string param_set_bytes(const ParamLayout& layout, const std::vector<ParamSet>& sets) {
  return param_writer(layout, sets).to_bytes();
}

void read_param_bytes(std::string_view bytes, const std::string& where, const ParamLayout& layout,
                      const std::vector<ParamSet>& sets) {
  read_sets(WeightFiles::from_bytes(bytes, where), layout, sets, false);
}

ModelConfig load_model_dir_config(const std::string& dir) {
  ModelConfig config = load_model_config(dir + "/config.json");
  const std::string gen = dir + "/generation_config.json";
  if (std::filesystem::exists(gen)) merge_generation_config(read_file(gen), gen, config);
  return config;
}

HostModel load_model_dir(const std::string& dir) {
  HostModel model;
  model.config = load_model_dir_config(dir);
  model.params.resize(ParamLayout(model.config).total);
  read_model_weights(dir, model.config, model.params.data());
  return model;
}

void save_model_dir(const std::string& dir, const ModelConfig& config, const float* params) {
  std::filesystem::create_directories(dir);
  save_model_config(config, dir + "/config.json");
  write_param_sets(dir + "/model.safetensors", ParamLayout(config),
                   {{"", const_cast<float*>(params)}});
}

}  // namespace tandem
