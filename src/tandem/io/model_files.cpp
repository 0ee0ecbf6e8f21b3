#include "tandem/io/model_files.h"

#include <filesystem>
#include <set>

#include "tandem/core/error.h"
#include "tandem/io/config_json.h"
#include "tandem/io/safetensors.h"

namespace tandem {

void read_param_sets(const std::string& path, const ParamLayout& layout,
                     const std::vector<ParamSet>& sets) {
  const SafetensorsReader file = SafetensorsReader::open(path);
  std::set<std::string> expected;
  for (const ParamSet& set : sets)
    for (const ParamSpec& t : layout.tensors) {
      const std::string name = set.prefix + t.name;
      expected.insert(name);
      TANDEM_CHECK(file.find(name) != nullptr, "{}: missing tensor '{}'", path, name);
      file.read_f32(name, t.shape, set.data + t.offset);
    }
  for (const TensorInfo& info : file.tensors())
    TANDEM_CHECK(expected.count(info.name), "{}: unexpected tensor '{}' (not part of this model)",
                 path, info.name);
}

void write_param_sets(const std::string& path, const ParamLayout& layout,
                      const std::vector<ParamSet>& sets) {
  SafetensorsWriter writer;
  writer.set_metadata("format", "pt");
  for (const ParamSet& set : sets)
    for (const ParamSpec& t : layout.tensors)
      writer.add_f32(set.prefix + t.name, t.shape, set.data + t.offset);
  writer.write(path);
}

HostModel load_model_dir(const std::string& dir) {
  HostModel model;
  model.config = load_model_config(dir + "/config.json");
  const ParamLayout layout(model.config);
  model.params.resize(layout.total);
  read_param_sets(dir + "/model.safetensors", layout, {{"", model.params.data()}});
  return model;
}

void save_model_dir(const std::string& dir, const ModelConfig& config, const float* params) {
  std::filesystem::create_directories(dir);
  save_model_config(config, dir + "/config.json");
  write_param_sets(dir + "/model.safetensors", ParamLayout(config),
                   {{"", const_cast<float*>(params)}});
}

}  // namespace tandem
