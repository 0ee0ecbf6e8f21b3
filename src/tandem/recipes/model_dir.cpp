#include "tandem/recipes/model_dir.h"

#include <filesystem>

#include "tandem/core/error.h"
#include "tandem/data/chat_format.h"
#include "tandem/io/config_json.h"
#include "tandem/io/model_files.h"

namespace fs = std::filesystem;

namespace tandem {

namespace {
template <class Model>
Loaded<Model> load(const std::string& dir, const std::string& backend) {
  TANDEM_CHECK(fs::is_directory(dir), "{}: no such model directory", dir);
  TANDEM_CHECK(fs::exists(dir + "/config.json"),
               "{}: not a model directory (no config.json); give a run's model/ or a checkpoint", dir);
  const std::string tok_path = dir + "/tokenizer.json";
  TANDEM_CHECK(fs::exists(tok_path),
               "{}: missing; a model directory must carry its tokenizer (tokenizer.json)", tok_path);
  // Tokenizer and config are checked against each other before the (large) weights are read.
  const ModelConfig config = load_model_dir_config(dir);
  Loaded<Model> out{make_backend(backend), nullptr, Tokenizer::load(tok_path)};
  TANDEM_CHECK(out.tokenizer.vocab_size() <= config.vocab_size,
               "{}: has {} tokens but {}/config.json says vocab_size {}: tokenizer and model do "
               "not belong together",
               tok_path, out.tokenizer.vocab_size(), dir, config.vocab_size);
  out.model = std::make_unique<Model>(*out.backend, config);
  // Weights the backend can address go straight into its parameter buffer, one copy in memory;
  // a device's go through a host copy.
  if (out.backend->host_memory()) {
    read_model_weights(dir, config, out.model->params());
  } else {
    std::vector<float> host(out.model->layout().total);
    read_model_weights(dir, config, host.data());
    out.model->load_params(host);
  }
  return out;
}
}  // namespace

LoadedModel load_model(const std::string& dir, const std::string& backend) {
  return load<ModelWeights>(dir, backend);
}

Loaded<Transformer> load_trainable(const std::string& dir, const std::string& backend) {
  return load<Transformer>(dir, backend);
}

void save_tokenizer(const Tokenizer& tok, const std::string& dir) {
  tok.save(dir + "/tokenizer.json");
  tok.save_config(dir + "/tokenizer_config.json");
}

Tokenizer load_tokenizer(const std::string& path) {
  const std::string file =
      std::filesystem::is_directory(path) ? path + "/tokenizer.json" : path;
  TANDEM_CHECK(std::filesystem::exists(file), "{}: missing: expected a tokenizer.json (or a folder "
               "holding one)", file);
  return Tokenizer::load(file);
}

Tokenizer demo_tokenizer() {
  Tokenizer tok = Tokenizer::bytes_only(chat_special_tokens());
  tok.set_roles({.bos = "", .eos = "<|im_end|>", .pad = "<|endoftext|>", .unk = ""});
  return tok;
}

}  // namespace tandem
