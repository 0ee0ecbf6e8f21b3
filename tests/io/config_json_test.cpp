#include "tandem/io/config_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "io_test_util.h"
#include "tandem/io/file.h"
#include "tandem/io/json_file.h"

namespace tandem {
namespace {

using nlohmann::json;
using test::expect_error;

// Qwen3-0.6B's config.json as published (head_dim 128 is not hidden_size / heads = 64).
const char* kQwen3Config = R"({
  "architectures": ["Qwen3ForCausalLM"],
  "attention_bias": false,
  "attention_dropout": 0.0,
  "bos_token_id": 151643,
  "eos_token_id": 151645,
  "head_dim": 128,
  "hidden_act": "silu",
  "hidden_size": 1024,
  "initializer_range": 0.02,
  "intermediate_size": 3072,
  "max_position_embeddings": 40960,
  "max_window_layers": 28,
  "model_type": "qwen3",
  "num_attention_heads": 16,
  "num_hidden_layers": 28,
  "num_key_value_heads": 8,
  "rms_norm_eps": 1e-06,
  "rope_scaling": null,
  "rope_theta": 1000000,
  "sliding_window": null,
  "tie_word_embeddings": true,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.51.0",
  "use_cache": true,
  "use_sliding_window": false,
  "vocab_size": 151936
}
)";

// Writes `j` as config.json in a fresh folder; returns its path.
std::string config_file(const json& j) {
  const std::string path = test::temp_dir() + "/config.json";
  test::write_raw(path, j.dump(2));
  return path;
}

json base() {
  return json::parse(kQwen3Config);
}

TEST(ConfigJson, LoadsQwen3) {
  const ModelConfig c = load_model_config(config_file(base()));
  EXPECT_EQ(c.vocab_size, 151936);
  EXPECT_EQ(c.hidden_size, 1024);
  EXPECT_EQ(c.num_hidden_layers, 28);
  EXPECT_EQ(c.num_attention_heads, 16);
  EXPECT_EQ(c.num_key_value_heads, 8);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.intermediate_size, 3072);
  EXPECT_EQ(c.max_position_embeddings, 40960);
  EXPECT_EQ(c.rms_norm_eps, 1e-6f);
  EXPECT_EQ(c.rope_theta, 1e6f);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.bos_token_id, 151643);
  EXPECT_EQ(c.eos_token_id, 151645);
}

TEST(ConfigJson, SaveThenLoadRoundTrips) {
  const ModelConfig c = parse_model_config(kQwen3Config, "config.json");
  const std::string path = test::temp_dir() + "/config.json";
  save_model_config(c, path, "bfloat16");
  const ModelConfig back = load_model_config(path);
  EXPECT_EQ(format_model_config(back, "bfloat16"), format_model_config(c, "bfloat16"));
  EXPECT_EQ(back.head_dim, 128);
  EXPECT_EQ(back.rms_norm_eps, c.rms_norm_eps);
  EXPECT_EQ(back.tie_word_embeddings, true);

  // What HF transformers needs to pick the architecture, and floats in their short form.
  const std::string text = read_file(path);
  const json j = json::parse(text);
  EXPECT_EQ(j["architectures"], json::array({"Qwen3ForCausalLM"}));
  EXPECT_EQ(j["model_type"], "qwen3");
  EXPECT_EQ(j["torch_dtype"], "bfloat16");
  EXPECT_EQ(j["hidden_act"], "silu");
  EXPECT_EQ(j["attention_bias"], false);
  EXPECT_EQ(j["use_sliding_window"], false);
  EXPECT_NE(text.find("\"rms_norm_eps\": 1e-06"), std::string::npos) << text;
  EXPECT_NE(text.find("\n  \"vocab_size\": 151936"), std::string::npos) << "not pretty-printed";
}

TEST(ConfigJson, SaveRefusesAnInvalidConfig) {
  ModelConfig c = parse_model_config(kQwen3Config, "config.json");
  c.num_key_value_heads = 5;
  const std::string path = test::temp_dir() + "/config.json";
  expect_error([&] { save_model_config(c, path); }, {path, "num_key_value_heads"});
}

TEST(ConfigJson, OptionalFields) {
  json j = base();
  j.erase("head_dim");  // HF default: hidden_size / num_attention_heads
  j.erase("bos_token_id");
  j["eos_token_id"] = json::array({151645, 151643});
  j.erase("model_type");
  j.erase("torch_dtype");
  ModelConfig c = load_model_config(config_file(j));
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.bos_token_id, -1);
  EXPECT_EQ(c.eos_token_id, 151645);
  j["eos_token_id"] = json::array();
  j["bos_token_id"] = nullptr;
  c = load_model_config(config_file(j));
  EXPECT_EQ(c.eos_token_id, -1);
  EXPECT_EQ(c.bos_token_id, -1);
}

TEST(ConfigJson, MissingRequiredField) {
  for (const char* field : {"vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                            "num_key_value_heads", "intermediate_size", "max_position_embeddings",
                            "rms_norm_eps", "rope_theta", "tie_word_embeddings"}) {
    json j = base();
    j.erase(field);
    const std::string path = config_file(j);
    expect_error([&] { load_model_config(path); },
                 {path + ": missing field '" + field + "' (expected "});
  }
  json j = base();
  j.erase("hidden_size");
  const std::string path = config_file(j);
  EXPECT_EQ(expect_error([&] { load_model_config(path); }, {}),
            path + ": missing field 'hidden_size' (expected a positive integer)");
}

TEST(ConfigJson, WrongType) {
  auto error_for = [](const char* field, const json& value) {
    json j = base();
    j[field] = value;
    const std::string path = config_file(j);
    return expect_error([&] { load_model_config(path); },
                        {path, std::string("field '") + field + "'"});
  };
  EXPECT_NE(error_for("hidden_size", "abc")
                .find("field 'hidden_size': expected a positive integer, got string \"abc\""),
            std::string::npos);
  EXPECT_NE(error_for("hidden_size", 1024.5).find("got number 1024.5"), std::string::npos);
  EXPECT_NE(error_for("num_hidden_layers", 0).find("expected a positive integer, got 0"),
            std::string::npos);
  EXPECT_NE(error_for("vocab_size", 3000000000LL).find("larger than 2147483647"),
            std::string::npos);
  EXPECT_NE(error_for("rms_norm_eps", "1e-6").find("expected a number"), std::string::npos);
  EXPECT_NE(error_for("tie_word_embeddings", 1).find("expected true or false, got number 1"),
            std::string::npos);
  EXPECT_NE(error_for("eos_token_id", "</s>").find("got string"), std::string::npos);
  EXPECT_NE(error_for("eos_token_id", json::array({"x"})).find("got string \"x\""),
            std::string::npos);
  EXPECT_NE(error_for("head_dim", json::array()).find("got an array"), std::string::npos);
  EXPECT_NE(error_for("torch_dtype", 16).find("expected a string"), std::string::npos);
}

TEST(ConfigJson, UnsupportedSettings) {
  auto error_for = [](const char* field, const json& value) {
    json j = base();
    j[field] = value;
    const std::string path = config_file(j);
    return expect_error([&] { load_model_config(path); },
                        {path, std::string("field '") + field + "'"});
  };
  EXPECT_NE(error_for("model_type", "llama").find("expected \"qwen3\", got string \"llama\""),
            std::string::npos);
  error_for("rope_scaling", json{{"rope_type", "yarn"}, {"factor", 4.0}});
  error_for("use_sliding_window", true);
  error_for("attention_bias", true);
  error_for("hidden_act", "gelu");
}

TEST(ConfigJson, InconsistentHeadCounts) {
  json j = base();
  j["num_key_value_heads"] = 5;
  const std::string path = config_file(j);
  expect_error(
      [&] { load_model_config(path); },
      {path, "'num_attention_heads' (16) must be a multiple of 'num_key_value_heads' (5)"});
  j = base();
  j["eos_token_id"] = 151936;
  const std::string path2 = config_file(j);
  expect_error([&] { load_model_config(path2); }, {path2, "eos_token_id", "vocab_size"});
}

TEST(ConfigJson, BadJsonSyntax) {
  const std::string path = test::temp_dir() + "/config.json";
  test::write_raw(path, "{\n  \"vocab_size\": 151936,\n  \"hidden_size\" 1024,\n}\n");
  expect_error([&] { load_model_config(path); },
               {path + ": line 3, column", "JSON syntax error", "expected ':'"});
  test::write_raw(path, "{\n  \"vocab_size\": 151936,\n  \"hidden_size\": abc\n}\n");
  expect_error([&] { load_model_config(path); }, {path + ": line 3, column 18: JSON syntax error"});
  test::write_raw(path, "");
  expect_error([&] { load_model_config(path); }, {path + ": line 1, column 1: JSON syntax error"});
  // nlohmann reports numbers beyond double as out_of_range, not as a parse error.
  test::write_raw(path, "{\"rope_theta\": 1e400}");
  expect_error([&] { load_model_config(path); }, {path, "invalid JSON: number overflow", "1e400"});
  test::write_raw(path, "[1, 2]");
  expect_error([&] { load_model_config(path); }, {path, "expected a JSON object, got an array"});
}

TEST(ConfigJson, MissingFile) {
  const std::string path = test::temp_dir() + "/nope/config.json";
  expect_error([&] { load_model_config(path); }, {path, "cannot open"});
}

TEST(JsonFile, DescribeAndWrite) {
  EXPECT_EQ(describe_json(json("abc")), "string \"abc\"");
  EXPECT_EQ(describe_json(json(1.5)), "number 1.5");
  EXPECT_EQ(describe_json(json(true)), "boolean true");
  EXPECT_EQ(describe_json(json(nullptr)), "null");
  EXPECT_EQ(describe_json(json::object()), "an object");
  EXPECT_EQ(describe_json(json(std::string(100, 'a'))).size(), std::string("string ").size() + 60);

  const std::string path = test::temp_dir() + "/state.json";
  write_json_file(path, json{{"step", 3}});
  EXPECT_EQ(read_json_file(path)["step"], 3);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

}  // namespace
}  // namespace tandem
