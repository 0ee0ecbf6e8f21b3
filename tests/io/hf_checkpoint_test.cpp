// HF export and import: what is written, bit-exact round trips (one file and sharded), bf16
// rounding, atomic output, and the files an HF checkpoint may carry besides the weights.
#include "tandem/io/hf_checkpoint.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "io_test_util.h"
#include "model_dir_fixture.h"
#include "tandem/io/config_json.h"
#include "tandem/io/file.h"
#include "tandem/io/half.h"
#include "tandem/io/json_file.h"
#include "tandem/io/safetensors_writer.h"
#include "tandem/io/weight_files.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;
using test::expect_error;

bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

uint64_t tensor_bytes(const ModelConfig& c, size_t elem) {
  uint64_t n = 0;
  for (const ParamSpec& t : ParamLayout(c).tensors) n += uint64_t(t.numel) * elem;
  return n;
}

TEST(HfExport, OneFileF32RoundTripsBitExactly) {
  for (const bool tied : {true, false}) {
    const std::string root = test::temp_dir();
    const std::vector<float> params = test::make_model_dir(root + "/model", tied);
    export_hf(root + "/model", root + "/hf", {DType::F32, 0});

    // What transformers' save_pretrained writes for a small model, nothing else.
    for (const char* f : {"config.json", "model.safetensors", "generation_config.json",
                          "tokenizer.json", "tokenizer_config.json"})
      EXPECT_TRUE(fs::is_regular_file(root + "/hf/" + f)) << f;
    EXPECT_EQ(test::count_files(root + "/hf"), 5u);
    EXPECT_FALSE(fs::exists(root + "/.tmp-hf"));
    const nlohmann::json cfg = read_json_file(root + "/hf/config.json");
    EXPECT_EQ(cfg["torch_dtype"], "float32");
    EXPECT_EQ(cfg["tie_word_embeddings"], tied);
    // HF generate stops at eos: taken from the tokenizer when config.json has none.
    const nlohmann::json gen = read_json_file(root + "/hf/generation_config.json");
    EXPECT_EQ(gen["eos_token_id"], 257);
    EXPECT_EQ(gen["pad_token_id"], 256);
    EXPECT_FALSE(gen.contains("bos_token_id"));
    EXPECT_EQ(read_file(root + "/hf/tokenizer.json"), read_file(root + "/model/tokenizer.json"));
    // Tied checkpoints carry no lm_head.weight, as HF writes Qwen3.
    const SafetensorsReader st = SafetensorsReader::open(root + "/hf/model.safetensors");
    EXPECT_EQ(st.find("lm_head.weight") != nullptr, !tied);
    EXPECT_EQ(st.metadata().at("format"), "pt");

    EXPECT_TRUE(bitwise_equal(load_model_dir(root + "/hf").params, params));
    import_hf(root + "/hf", root + "/back");
    EXPECT_TRUE(bitwise_equal(load_model_dir(root + "/back").params, params));
    EXPECT_EQ(read_file(root + "/back/tokenizer_config.json"),
              read_file(root + "/model/tokenizer_config.json"));
  }
}

TEST(HfExport, ShardedF32RoundTripsBitExactly) {
  for (const bool tied : {true, false}) {
    const std::string root = test::temp_dir();
    const std::vector<float> params = test::make_model_dir(root + "/model", tied);
    const ModelConfig c = test::model_dir_config(tied);
    const uint64_t total = tensor_bytes(c, 4), max_shard = total / 4;
    export_hf(root + "/model", root + "/hf", {DType::F32, max_shard});

    EXPECT_FALSE(fs::exists(root + "/hf/model.safetensors"));
    const std::string index_path = root + "/hf/model.safetensors.index.json";
    const ShardIndex index = parse_shard_index(read_file(index_path), index_path);
    ASSERT_TRUE(index.total_size.has_value());
    EXPECT_EQ(*index.total_size, total);
    const std::vector<std::string> files = index.files();
    ASSERT_GE(files.size(), 3u);
    for (size_t i = 0; i < files.size(); ++i)
      EXPECT_EQ(files[i], fmt::format("model-{:05d}-of-{:05d}.safetensors", i + 1, files.size()));
    EXPECT_EQ(test::count_files(root + "/hf"), 4 + files.size() + 1);
    const ParamLayout layout(c);
    EXPECT_EQ(index.weight_map.size(), layout.tensors.size());
    for (const ParamSpec& t : layout.tensors) EXPECT_TRUE(index.weight_map.count(t.name)) << t.name;
    uint64_t sum = 0;
    for (const std::string& f : files) {
      const SafetensorsReader st = SafetensorsReader::open(root + "/hf/" + f);
      uint64_t bytes = 0;
      for (const TensorInfo& t : st.tensors()) {
        bytes += t.nbytes;
        EXPECT_EQ(index.weight_map.at(t.name), f);
      }
      // A shard over the limit may only be one tensor too large to share.
      EXPECT_TRUE(bytes <= max_shard || st.tensors().size() == 1) << f << ": " << bytes;
      sum += bytes;
    }
    EXPECT_EQ(sum, total);

    EXPECT_TRUE(bitwise_equal(load_model_dir(root + "/hf").params, params));
    import_hf(root + "/hf", root + "/back");
    EXPECT_TRUE(fs::exists(root + "/back/model.safetensors"));  // a tandem dir: one f32 file
    EXPECT_FALSE(fs::exists(root + "/back/model.safetensors.index.json"));
    EXPECT_TRUE(bitwise_equal(load_model_dir(root + "/back").params, params));
  }
}

TEST(HfExport, Bf16IsRoundedToNearestEven) {
  const std::string root = test::temp_dir();
  const ModelConfig c = test::model_dir_config(false);
  std::vector<float> params = test::random_params(c, 7);
  // Hand-worked cases; bf16 keeps 7 mantissa bits, so near 1.0 its step is 2^-7.
  struct Case {
    float in, out;
  };
  const Case cases[] = {
      {1.0f + 0x1p-8f, 1.0f},                       // tie: to the even neighbour below
      {1.0f + 3 * 0x1p-8f, 1.0f + 0x1p-6f},         // tie: to the even neighbour above
      {1.0f + 0x1p-8f + 0x1p-20f, 1.0f + 0x1p-7f},  // just above the tie: up
      {-(1.0f + 0x1p-8f - 0x1p-20f), -1.0f},        // just below the tie: down, sign kept
      {-2.5f, -2.5f},                               // exact
      {std::bit_cast<float>(0x3f80ffffu), 1.0f + 0x1p-7f},
  };
  for (size_t i = 0; i < std::size(cases); ++i) params[i] = cases[i].in;  // embedding row 0
  save_model_dir(root + "/model", c, params.data());
  test::tiny_tokenizer().save(root + "/model/tokenizer.json");
  export_hf(root + "/model", root + "/hf", {DType::BF16, tensor_bytes(c, 2) / 3});

  EXPECT_EQ(read_json_file(root + "/hf/config.json")["torch_dtype"], "bfloat16");
  const WeightFiles files = WeightFiles::open_dir(root + "/hf");
  EXPECT_GE(files.num_files(), 3u);
  for (const auto& [name, e] : files.tensors()) EXPECT_EQ(e.info->dtype, DType::BF16) << name;
  // The export wrote a tokenizer_config.json even though the source had none.
  EXPECT_TRUE(fs::exists(root + "/hf/tokenizer_config.json"));

  import_hf(root + "/hf", root + "/back");
  const std::vector<float> back = load_model_dir(root + "/back").params;
  ASSERT_EQ(back.size(), params.size());
  for (size_t i = 0; i < std::size(cases); ++i) EXPECT_EQ(back[i], cases[i].out) << i;
  size_t wrong = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    const float want = bf16_to_f32(f32_to_bf16(params[i]));
    // Independent of the rounding helper: within half a bf16 step of the input.
    const bool near = std::fabs(back[i] - params[i]) <= std::fabs(params[i]) * 0x1p-8f;
    if (std::bit_cast<uint32_t>(back[i]) != std::bit_cast<uint32_t>(want) || !near) ++wrong;
  }
  EXPECT_EQ(wrong, 0u);
}

TEST(HfExport, OutputIsAtomicAndNeverOverwrites) {
  const std::string root = test::temp_dir();
  test::make_model_dir(root + "/model", true);
  fs::create_directories(root + "/full");
  test::write_raw(root + "/full/keep.txt", "x");
  expect_error([&] { export_hf(root + "/model", root + "/full"); },
               {root + "/full", "not an empty directory"});
  EXPECT_EQ(read_file(root + "/full/keep.txt"), "x");

  fs::create_directories(root + "/empty");  // an empty folder is fine, named with a slash too
  export_hf(root + "/model", root + "/empty/");
  EXPECT_TRUE(fs::exists(root + "/empty/model.safetensors"));

  // A failure part-way leaves neither the output nor the temporary folder behind.
  fs::remove(root + "/model/tokenizer.json");
  expect_error([&] { export_hf(root + "/model", root + "/out"); }, {"tokenizer.json", "missing"});
  test::make_model_dir(root + "/bad", true);
  test::write_raw(root + "/bad/generation_config.json", "{\"eos_token_id\": 1000}");
  expect_error([&] { export_hf(root + "/bad", root + "/out"); },
               {root + "/bad/generation_config.json", "eos_token_id", "vocab_size"});
  EXPECT_FALSE(fs::exists(root + "/out"));
  EXPECT_FALSE(fs::exists(root + "/.tmp-out"));
  expect_error([&] { export_hf(root + "/model", root + "/out", {DType::F16, 0}); }, {"F16"});
}

TEST(HfExport, CopiesGenerationConfigAndTokenizerConfigAsTheyAre) {
  const std::string root = test::temp_dir();
  test::make_model_dir(root + "/model", true);
  const std::string gen = "{\n  \"eos_token_id\": [257, 256],\n  \"temperature\": 0.6\n}\n";
  const std::string tok_cfg =
      "{\"eos_token\": \"<|im_end|>\", \"chat_template\": \"{{ messages }}\"}";
  test::write_raw(root + "/model/generation_config.json", gen);
  test::write_raw(root + "/model/tokenizer_config.json", tok_cfg);
  export_hf(root + "/model", root + "/hf");
  EXPECT_EQ(read_file(root + "/hf/generation_config.json"), gen);
  EXPECT_EQ(read_file(root + "/hf/tokenizer_config.json"), tok_cfg);
  // The first eos id of generation_config.json fills config.json's missing one.
  EXPECT_EQ(load_model_dir(root + "/hf").config.eos_token_id, 257);
  import_hf(root + "/hf", root + "/back");
  EXPECT_EQ(read_file(root + "/back/generation_config.json"), gen);
  EXPECT_EQ(read_json_file(root + "/back/config.json")["eos_token_id"], 257);
}

// What HF checkpoints look like in the wild: BF16 with F32 norms (torch_dtype names the main
// dtype only), F16, and a tied model that still carries lm_head.weight.
TEST(HfImport, AcceptsMixedDtypesAndATiedHead) {
  const std::string root = test::temp_dir();
  const ModelConfig c = test::model_dir_config(true);
  const std::vector<float> params = test::random_params(c, 3);
  const ParamLayout layout(c);
  const std::string dir = root + "/hf";
  fs::create_directories(dir);
  save_model_config(c, dir + "/config.json", "bfloat16");
  test::tiny_tokenizer().save(dir + "/tokenizer.json");
  std::vector<std::vector<uint16_t>> keep;
  std::vector<float> want(params.size());
  SafetensorsWriter w;
  int i = 0;
  for (const ParamSpec& t : layout.tensors) {
    const float* src = params.data() + t.offset;
    float* dst = want.data() + t.offset;
    const size_t n = size_t(t.numel);
    if (t.shape.size() == 1) {  // norms stay F32
      w.add_f32(t.name, t.shape, src);
      std::copy(src, src + n, dst);
      continue;
    }
    const bool f16 = i++ % 2 == 1;
    std::vector<uint16_t>& h = keep.emplace_back(n);
    for (size_t k = 0; k < n; ++k) {
      h[k] = f16 ? f32_to_f16(src[k]) : f32_to_bf16(src[k]);
      dst[k] = f16 ? f16_to_f32(h[k]) : bf16_to_f32(h[k]);
    }
    w.add(t.name, f16 ? DType::F16 : DType::BF16, t.shape, h.data());
  }
  w.add(std::string("lm_head.weight"), DType::BF16, layout.tensors[0].shape, keep[0].data());
  w.write(dir + "/model.safetensors");

  import_hf(dir, root + "/back");
  EXPECT_TRUE(bitwise_equal(load_model_dir(root + "/back").params, want));
  EXPECT_FALSE(SafetensorsReader::open(root + "/back/model.safetensors").find("lm_head.weight"));
  EXPECT_EQ(read_json_file(root + "/back/config.json")["torch_dtype"], "float32");

  // A tied head of another shape is not the embedding.
  std::vector<test::RawTensor> tensors = test::read_tensors(dir + "/model.safetensors");
  for (auto& t : tensors)
    if (t.name == "lm_head.weight") t.shape = {c.vocab_size / 2, c.hidden_size * 2};
  test::write_tensors(dir + "/model.safetensors", tensors);
  expect_error([&] { load_model_dir(dir); },
               {dir + "/model.safetensors", "'lm_head.weight'", "shape [150, 32]", "[300, 16]"});
}

TEST(HfImport, RejectsWhatIsNotAFloatModel) {
  const std::string root = test::temp_dir();
  test::make_model_dir(root + "/m", true);
  const std::string path = root + "/m/config.json";
  nlohmann::json cfg = read_json_file(path);
  for (const char* key : {"torch_dtype", "dtype"}) {
    nlohmann::json j = cfg;
    j[key] = "int8";
    test::write_raw(path, j.dump());
    expect_error([&] { import_hf(root + "/m", root + "/out"); },
                 {path, std::string("field '") + key + "'", "\"bfloat16\"", "int8"});
  }
  nlohmann::json j = cfg;
  j["quantization_config"] = {{"quant_method", "fp8"}};
  test::write_raw(path, j.dump());
  expect_error([&] { import_hf(root + "/m", root + "/out"); },
               {path, "quantization_config", "not supported"});
  EXPECT_FALSE(fs::exists(root + "/out"));
  fs::remove(path);
  expect_error([&] { import_hf(root + "/m", root + "/out"); }, {path});
  expect_error([&] { import_hf(root + "/nothing", root + "/out"); },
               {root + "/nothing", "no such model directory"});
}

TEST(HfExport, ParsesShardSizes) {
  EXPECT_EQ(parse_byte_size("5GB", "s"), 5'000'000'000u);
  EXPECT_EQ(parse_byte_size("5gb", "s"), 5'000'000'000u);
  EXPECT_EQ(parse_byte_size("2GiB", "s"), 2u << 30);
  EXPECT_EQ(parse_byte_size("1.5GB", "s"), 1'500'000'000u);
  EXPECT_EQ(parse_byte_size("500MB", "s"), 500'000'000u);
  EXPECT_EQ(parse_byte_size("64KiB", "s"), 65536u);
  EXPECT_EQ(parse_byte_size("123", "s"), 123u);
  EXPECT_EQ(parse_byte_size("123B", "s"), 123u);
  EXPECT_EQ(parse_byte_size("0", "s"), 0u);
  for (const char* bad : {"", "GB", "5 GB", "-1", "1e9", "5XB", "1..5GB", ".5GB", "1.5.GB",
                          "99999999999999999999GB", "5GBs"})
    expect_error([&] { parse_byte_size(bad, "--max-shard-size"); },
                 {"--max-shard-size: expected a size"});
}

}  // namespace
}  // namespace tandem
