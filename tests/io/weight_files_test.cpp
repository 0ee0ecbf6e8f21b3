// Sharded weights: the index format, and every way a set of shards can be damaged or disagree
// with its index. Each must give one line naming the file, through the loader every command uses.
#include "tandem/io/weight_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "io_test_util.h"
#include "model_dir_fixture.h"
#include "tandem/io/file.h"
#include "tandem/io/hf_checkpoint.h"
#include "tandem/io/json_file.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;
using test::expect_error;

TEST(ShardIndex, ParsesWhatHfWrites) {
  const ShardIndex i = parse_shard_index(R"({
  "metadata": {"total_size": 16381470720, "total_parameters": 8190735360},
  "weight_map": {
    "lm_head.weight": "model-00005-of-00005.safetensors",
    "model.embed_tokens.weight": "model-00001-of-00005.safetensors",
    "model.norm.weight": "model-00005-of-00005.safetensors"
  }
})",
                                         "index.json");
  EXPECT_EQ(i.total_size.value_or(0), 16381470720u);
  EXPECT_EQ(i.weight_map.at("model.norm.weight"), "model-00005-of-00005.safetensors");
  EXPECT_EQ(i.files(), (std::vector<std::string>{"model-00001-of-00005.safetensors",
                                                 "model-00005-of-00005.safetensors"}));
  const ShardIndex back = parse_shard_index(format_shard_index(i), "again");
  EXPECT_EQ(back.weight_map, i.weight_map);
  EXPECT_EQ(back.total_size.value_or(0), 16381470720u);
  // Optional metadata; a float byte count as some tools write it.
  EXPECT_FALSE(parse_shard_index(R"({"weight_map": {"a": "x.safetensors"}})", "i").total_size);
  EXPECT_EQ(
      parse_shard_index(
          R"({"metadata": {"total_size": 1.6e10}, "weight_map": {"a": "x.safetensors"}})", "i")
          .total_size.value_or(0),
      16'000'000'000u);
}

TEST(ShardIndex, RejectsMalformedIndexes) {
  struct Case {
    const char* text;
    const char* expected;
  };
  const Case cases[] = {
      {R"({"weight_map": {"a": "x.safetensors", "a": "y.safetensors"}})",
       "weight_map lists tensor 'a' twice"},
      {R"({"weight_map": {"a": "x.safetensors"}, "weight_map": {}})",
       "field 'weight_map' appears twice"},
      {R"({"metadata": {}})", "missing field 'weight_map'"},
      {R"({"weight_map": []})", "field 'weight_map': expected an object"},
      {R"({"weight_map": {}})", "weight_map lists no tensors"},
      {R"({"weight_map": {"a": 3}})", "tensor 'a': expected a shard file name, got number 3"},
      {R"({"weight_map": {"a": "../secret.safetensors"}})", "not a plain *.safetensors file name"},
      {R"({"weight_map": {"a": "/abs.safetensors"}})", "not a plain"},
      {R"({"weight_map": {"a": "model.bin"}})", "not a plain"},
      {R"({"weight_map": {"a": ".safetensors"}})", "not a plain"},
      {R"({"weight_map": {"": "x.safetensors"}})", "empty name"},
      {R"({"metadata": {"total_size": -1}, "weight_map": {"a": "x.safetensors"}})",
       "total_size': expected a non-negative integer"},
      {R"({"metadata": {"total_size": "big"}, "weight_map": {"a": "x.safetensors"}})",
       "total_size"},
      {R"({"metadata": 3, "weight_map": {"a": "x.safetensors"}})", "field 'metadata'"},
      {R"([1, 2])", "expected a JSON object"},
      {"{\n  \"weight_map\": {\"a\" \"x.safetensors\"}\n}", "line 2, column"},
  };
  for (const Case& c : cases)
    expect_error([&] { parse_shard_index(c.text, "dir/model.safetensors.index.json"); },
                 {"dir/model.safetensors.index.json: ", c.expected});
}

// A sharded checkpoint of the tiny model, and where each tensor went.
class Shards : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = test::temp_dir();
    params_ = test::make_model_dir(root_ + "/model", false);
    export_hf(root_ + "/model", dir(), {DType::F32, 3000});
    index_ = parse_shard_index(read_file(index_path()), index_path());
    ASSERT_GE(index_.files().size(), 3u);
  }
  std::string dir() const { return root_ + "/hf"; }
  std::string index_path() const { return dir() + "/model.safetensors.index.json"; }
  std::string shard_of(const std::string& tensor) const {
    return dir() + "/" + index_.weight_map.at(tensor);
  }
  void write_index(const ShardIndex& i) const {
    test::write_raw(index_path(), format_shard_index(i));
  }
  std::string load_error(std::initializer_list<std::string_view> parts) const {
    return expect_error([&] { load_model_dir(dir()); }, parts);
  }

  std::string root_;
  std::vector<float> params_;
  ShardIndex index_;
};

TEST_F(Shards, LoadsAsIs) {
  EXPECT_EQ(load_model_dir(dir()).params, params_);
}

TEST_F(Shards, TruncatedShard) {
  const std::string shard = shard_of("model.norm.weight");
  fs::resize_file(shard, fs::file_size(shard) - 10);
  load_error({shard + ": ", "truncated"});
  fs::resize_file(shard, 5);
  load_error({shard + ": ", "truncated"});
}

TEST_F(Shards, IndexNamesAMissingFile) {
  const std::string shard = shard_of("model.norm.weight");
  fs::remove(shard);
  load_error({index_path() + ": ", "to shard '" + fs::path(shard).filename().string() + "'",
              shard + " does not exist"});
}

TEST_F(Shards, IndexMapsATensorToAFileThatLacksIt) {
  ShardIndex i = index_;
  const std::string first = i.files().front();
  ASSERT_NE(i.weight_map["model.norm.weight"], first);
  i.weight_map["model.norm.weight"] = first;
  write_index(i);
  load_error({index_path() + ": ", "maps tensor 'model.norm.weight' to " + dir() + "/" + first,
              "does not contain it"});
}

TEST_F(Shards, TensorInTwoShards) {
  const std::string shard = shard_of("model.embed_tokens.weight");
  const std::string other = shard_of("model.norm.weight");
  ASSERT_NE(shard, other);
  std::vector<test::RawTensor> tensors = test::read_tensors(shard);
  for (const auto& t : test::read_tensors(other))
    if (t.name == "model.norm.weight") tensors.push_back(t);
  test::write_tensors(shard, tensors);
  load_error({shard + ": ", "holds tensor 'model.norm.weight'",
              "maps to shard '" + fs::path(other).filename().string() + "'", "one shard"});
  // Named twice in the index itself.
  std::string text = read_file(index_path());
  const size_t at = text.find("\"weight_map\": {") + 15;
  text.insert(at, "\n    \"model.norm.weight\": \"" + fs::path(shard).filename().string() + "\",");
  test::write_raw(index_path(), text);
  load_error({index_path() + ": ", "lists tensor 'model.norm.weight' twice"});
}

TEST_F(Shards, TensorNotInTheIndex) {
  const std::string shard = shard_of("model.norm.weight");
  std::vector<test::RawTensor> tensors = test::read_tensors(shard);
  tensors.push_back({"model.extra.weight", DType::F32, {2}, std::string(8, '\0')});
  test::write_tensors(shard, tensors);
  load_error({shard + ": ", "holds tensor 'model.extra.weight'", "does not list"});
  // Listed, but not part of a Qwen3 model.
  ShardIndex i = index_;
  i.weight_map["model.extra.weight"] = fs::path(shard).filename().string();
  write_index(i);
  load_error({shard + ": ", "unexpected tensor 'model.extra.weight'"});
}

TEST_F(Shards, DtypesThatAreNotFloat32Float16OrBfloat16) {
  const std::string tensor = "model.layers.1.self_attn.q_norm.weight";  // 8 elements
  const std::string shard = shard_of(tensor);
  const std::vector<test::RawTensor> original = test::read_tensors(shard);
  for (const auto& [dtype, size] : {std::pair{DType::I64, 8},
                                    {DType::F64, 8},
                                    {DType::U8, 1},
                                    {DType::I32, 4},
                                    {DType::BOOL, 1}}) {
    std::vector<test::RawTensor> tensors = original;
    for (auto& t : tensors)
      if (t.name == tensor) {
        t.dtype = dtype;
        t.bytes.assign(size_t(8 * size), '\1');
      }
    test::write_tensors(shard, tensors);
    load_error({shard + ": ", "tensor '" + tensor + "'", "dtype " + std::string(dtype_name(dtype)),
                "expected F32, F16 or BF16"});
  }
}

TEST_F(Shards, MissingTensor) {
  const std::string tensor = "model.layers.0.mlp.up_proj.weight";
  const std::string shard = shard_of(tensor);
  std::vector<test::RawTensor> tensors = test::read_tensors(shard);
  std::erase_if(tensors, [&](const test::RawTensor& t) { return t.name == tensor; });
  test::write_tensors(shard, tensors);
  ShardIndex i = index_;
  i.weight_map.erase(tensor);
  write_index(i);
  load_error({index_path() + ": missing tensor '" + tensor + "'"});
}

TEST_F(Shards, ShapeMismatch) {
  const std::string tensor = "model.layers.0.self_attn.k_norm.weight";
  const std::string shard = shard_of(tensor);
  std::vector<test::RawTensor> tensors = test::read_tensors(shard);
  for (auto& t : tensors)
    if (t.name == tensor) {
      t.shape = {9};
      t.bytes.resize(36);
    }
  test::write_tensors(shard, tensors);
  load_error({shard + ": tensor '" + tensor + "': shape [9] does not match the expected [8]"});
}

TEST_F(Shards, BothLayoutsOrNeither) {
  fs::copy_file(shard_of("model.norm.weight"), dir() + "/model.safetensors");
  load_error({dir() + ": has both model.safetensors and model.safetensors.index.json"});
  fs::remove(dir() + "/model.safetensors");
  fs::remove(index_path());
  load_error({dir() + ": no model weights"});
}

TEST_F(Shards, BadIndexJson) {
  test::write_raw(index_path(), "{\"weight_map\": {\"a\": \"b.safetensors\",}}");
  load_error({index_path() + ": line 1, column", "JSON syntax error"});
}

TEST(ModelFiles, GenerationConfigFillsUnsetIds) {
  const std::string dir = test::temp_dir() + "/m";
  test::make_model_dir(dir, true);
  test::write_raw(dir + "/generation_config.json",
                  R"({"bos_token_id": 256, "eos_token_id": [257, 256], "do_sample": true})");
  const ModelConfig c = load_model_dir(dir).config;
  EXPECT_EQ(c.bos_token_id, 256);
  EXPECT_EQ(c.eos_token_id, 257);
  nlohmann::json cfg = read_json_file(dir + "/config.json");
  cfg["eos_token_id"] = 5;  // config.json wins where it gives one
  test::write_raw(dir + "/config.json", cfg.dump());
  EXPECT_EQ(load_model_dir(dir).config.eos_token_id, 5);
  test::write_raw(dir + "/generation_config.json", R"({"eos_token_id": "x"})");
  expect_error([&] { load_model_dir(dir); },
               {dir + "/generation_config.json: field 'eos_token_id'"});
}

}  // namespace
}  // namespace tandem
