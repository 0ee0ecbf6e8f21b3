#include "tandem/io/config_json.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "tandem/core/error.h"
#include "tandem/core/json_text.h"
#include "tandem/io/file.h"
#include "tandem/io/json_file.h"

namespace tandem {

using nlohmann::json;

namespace {

constexpr int64_t kIntMax = std::numeric_limits<int>::max();

// HF writes token ids as an int, a list of ints (several stop tokens) or null; we keep the first.
int token_id(const JsonFields& f, std::string_view key) {
  const json* v = f.find(key);
  if (!v) return -1;
  if (v->is_array()) {
    if (v->empty()) return -1;
    return int(f.as_int(key, v->front(), 0, kIntMax));
  }
  if (!v->is_number_integer()) f.wrong(key, "a non-negative integer or a list of them", *v);
  return int(f.as_int(key, *v, 0, kIntMax));
}

// A field that, when present, must hold the one value this engine implements.
void require_value(const JsonFields& f, std::string_view key, const json& supported,
                   std::string_view what) {
  const json* v = f.find(key);
  if (v && *v != supported) {
    fail("{}: field '{}': only {} is supported, got {}", f.where(), key, what, describe_json(*v));
  }
}

// ModelConfig holds floats: a double beyond float range would silently become inf.
float to_float(const JsonFields& f, std::string_view key) {
  const double v = f.get_number(key);
  if (std::fabs(v) > std::numeric_limits<float>::max()) {
    f.wrong(key, "a number within float range", *f.find(key));
  }
  return float(v);
}

// The float's shortest decimal form (1e-06, not 9.999999974752427e-07), which reads back as the
// same float.
double shortest(float x) {
  return std::stod(fmt::format("{}", x));
}

}  // namespace

ModelConfig parse_model_config(std::string_view text, const std::string& where) {
  const json j = parse_json(text, where);
  const JsonFields f(j, where);

  if (const json* t = f.find("model_type"); t && *t != "qwen3")
    f.wrong("model_type", "\"qwen3\"", *t);
  // The weights' own dtypes decide how they are read (any of F32/F16/BF16, converted to float32
  // without loss); torch_dtype ("dtype" since transformers 4.56) is only the dtype HF loads them
  // as. A value other than a float type means a quantized or otherwise different model.
  for (const char* key : {"torch_dtype", "dtype"})
    if (const auto v = f.opt_string(key);
        v && *v != "float32" && *v != "bfloat16" && *v != "float16" && *v != "auto")
      f.wrong(key, "\"float32\", \"bfloat16\" or \"float16\"", *f.find(key));
  if (const json* q = f.find("quantization_config"))
    f.wrong("quantization_config", "null (quantized checkpoints are not supported)", *q);
  require_value(f, "hidden_act", "silu", "\"silu\"");
  require_value(f, "attention_bias", false, "false");
  require_value(f, "use_sliding_window", false, "false");
  if (const json* r = f.find("rope_scaling")) f.wrong("rope_scaling", "null (not supported)", *r);

  ModelConfig c;
  auto positive = [&](std::string_view key) { return int(f.get_int(key, 1, kIntMax)); };
  c.vocab_size = positive("vocab_size");
  c.hidden_size = positive("hidden_size");
  c.num_hidden_layers = positive("num_hidden_layers");
  c.num_attention_heads = positive("num_attention_heads");
  c.num_key_value_heads = positive("num_key_value_heads");
  c.intermediate_size = positive("intermediate_size");
  c.max_position_embeddings = positive("max_position_embeddings");
  c.rms_norm_eps = to_float(f, "rms_norm_eps");
  c.rope_theta = to_float(f, "rope_theta");
  c.tie_word_embeddings = f.get_bool("tie_word_embeddings");
  // HF's default when head_dim is absent.
  c.head_dim =
      int(f.opt_int("head_dim", 1, kIntMax).value_or(c.hidden_size / c.num_attention_heads));
  c.bos_token_id = token_id(f, "bos_token_id");
  c.eos_token_id = token_id(f, "eos_token_id");
  c.validate(where);
  return c;
}

void merge_generation_config(std::string_view text, const std::string& where, ModelConfig& config) {
  const json j = parse_json(text, where);
  const JsonFields f(j, where);
  const int bos = token_id(f, "bos_token_id"), eos = token_id(f, "eos_token_id");
  if (config.bos_token_id < 0) config.bos_token_id = bos;
  if (config.eos_token_id < 0) config.eos_token_id = eos;
  config.validate(where);
}

std::string format_generation_config(const ModelConfig& config, int pad_token_id) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (config.bos_token_id >= 0) j["bos_token_id"] = config.bos_token_id;
  if (config.eos_token_id >= 0) j["eos_token_id"] = config.eos_token_id;
  if (pad_token_id >= 0) j["pad_token_id"] = pad_token_id;
  return json_text(j, 2) + "\n";
}

ModelConfig load_model_config(const std::string& path) {
  return parse_model_config(read_file(path), path);
}

std::string format_model_config(const ModelConfig& c, const std::string& torch_dtype) {
  // ordered_json keeps a readable, stable field order in the file.
  nlohmann::ordered_json j;
  j["architectures"] = {"Qwen3ForCausalLM"};
  j["model_type"] = "qwen3";
  j["torch_dtype"] = torch_dtype;
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_key_value_heads"] = c.num_key_value_heads;
  j["head_dim"] = c.head_dim;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["rms_norm_eps"] = shortest(c.rms_norm_eps);
  j["rope_theta"] = shortest(c.rope_theta);
  j["rope_scaling"] = nullptr;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["hidden_act"] = "silu";
  j["attention_bias"] = false;
  j["attention_dropout"] = 0.0;
  j["use_sliding_window"] = false;
  j["use_cache"] = true;
  if (c.bos_token_id >= 0) j["bos_token_id"] = c.bos_token_id;
  if (c.eos_token_id >= 0) j["eos_token_id"] = c.eos_token_id;
  return json_text(j, 2) + "\n";
}

void save_model_config(const ModelConfig& config, const std::string& path,
                       const std::string& torch_dtype) {
  config.validate(path);
  write_file_atomic(path, format_model_config(config, torch_dtype));
}

}  // namespace tandem
