#include "tandem/io/gguf/model_gguf.h"

#include <climits>
#include <cmath>
#include <filesystem>
#include <set>

#include "tandem/core/error.h"
#include "tandem/io/file.h"
#include "tandem/io/gguf/gguf_reader.h"
#include "tandem/io/gguf/gguf_tokenizer.h"
#include "tandem/io/gguf/gguf_writer.h"
#include "tandem/io/gguf/quantize.h"
#include "tandem/io/json_file.h"
#include "tandem/io/model_files.h"
#include "tandem/io/safetensors.h"  // printable_name
#include "tandem/tokenizer/chat_template_jinja.h"

namespace fs = std::filesystem;

namespace tandem {
namespace {

constexpr const char* kArch = "qwen3";

// HF name suffix within a layer -> GGUF name suffix within blk.N (llama.cpp's tensor map).
constexpr std::pair<std::string_view, std::string_view> kLayerNames[] = {
    {"input_layernorm.weight", "attn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"self_attn.q_norm.weight", "attn_q_norm.weight"},
    {"self_attn.k_norm.weight", "attn_k_norm.weight"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
};

std::string key(std::string_view suffix) {
  return fmt::format("{}.{}", kArch, suffix);
}

std::vector<uint64_t> ggml_dims(const std::vector<int64_t>& hf_shape) {
  return std::vector<uint64_t>(hf_shape.rbegin(), hf_shape.rend());
}

// What the converter does: norms (1-D) stay F32; a matrix whose rows are not whole blocks of
// the quantized type falls back to F16.
gguf::TensorType type_for(const ParamSpec& t, gguf::TensorType type) {
  if (t.shape.size() < 2) return gguf::TensorType::F32;
  if (t.shape.back() % gguf::traits(type).block_size != 0) return gguf::TensorType::F16;
  return type;
}

// The model's name for general.name: its directory, or the run's when that is called "model".
std::string model_name(const std::string& dir) {
  fs::path p = fs::absolute(fs::path(dir)).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  if (p.filename() == "model" && !p.parent_path().filename().empty()) p = p.parent_path();
  return p.filename().string();
}

// tokenizer_config.json's chat_template when the directory has one, else Qwen3's (the format
// tandem's chat rendering follows).
std::string chat_template(const std::string& dir) {
  const std::string path = dir + "/tokenizer_config.json";
  if (fs::exists(path)) {
    const nlohmann::json j = read_json_file(path);
    const JsonFields f(j, path);
    if (auto t = f.opt_string("chat_template")) return *t;
  }
  return std::string(qwen3_chat_template_jinja());
}

int small_int(const gguf::GgufReader& r, const std::string& k) {
  const uint64_t v = r.get_uint(k);
  TANDEM_CHECK(v <= uint64_t(INT_MAX), "{}: {} is too large", r.where(k), v);
  return int(v);
}

}  // namespace

std::string gguf_tensor_name(const std::string& hf_name) {
  if (hf_name == "model.embed_tokens.weight") return "token_embd.weight";
  if (hf_name == "model.norm.weight") return "output_norm.weight";
  if (hf_name == "lm_head.weight") return "output.weight";
  constexpr std::string_view prefix = "model.layers.";
  if (hf_name.starts_with(prefix)) {
    const size_t dot = hf_name.find('.', prefix.size());
    if (dot != std::string::npos) {
      const std::string layer = hf_name.substr(prefix.size(), dot - prefix.size());
      const std::string_view rest = std::string_view(hf_name).substr(dot + 1);
      for (const auto& [hf, gg] : kLayerNames)
        if (rest == hf) return fmt::format("blk.{}.{}", layer, gg);
    }
  }
  fail("gguf: no GGUF name for tensor '{}' (not part of the Qwen3 layout)", hf_name);
}

void export_gguf(const std::string& model_dir, const std::string& out_path, gguf::TensorType type) {
  const std::string tok_path = model_dir + "/tokenizer.json";
  TANDEM_CHECK(fs::exists(tok_path),
               "{}: missing; a GGUF file carries its tokenizer, so the model directory needs one",
               tok_path);
  const HostModel host = load_model_dir(model_dir);
  const ModelConfig& c = host.config;
  const Tokenizer tok = Tokenizer::load(tok_path);
  const ParamLayout layout(c);
  for (const ParamSpec& t : layout.tensors)
    for (int64_t i = 0; i < t.numel; ++i)
      TANDEM_CHECK(std::isfinite(host.params[size_t(t.offset + i)]),
                   "{}: tensor '{}' holds a non-finite value at element {}; refusing to export",
                   model_dir, t.name, i);

  gguf::GgufWriter w;
  using gguf::Value;
  w.set("general.architecture", Value::string(kArch));
  w.set("general.type", Value::string("model"));
  w.set("general.name", Value::string(model_name(model_dir)));
  w.set(key("block_count"), Value::u32(uint32_t(c.num_hidden_layers)));
  w.set(key("context_length"), Value::u32(uint32_t(c.max_position_embeddings)));
  w.set(key("embedding_length"), Value::u32(uint32_t(c.hidden_size)));
  w.set(key("feed_forward_length"), Value::u32(uint32_t(c.intermediate_size)));
  w.set(key("attention.head_count"), Value::u32(uint32_t(c.num_attention_heads)));
  w.set(key("attention.head_count_kv"), Value::u32(uint32_t(c.num_key_value_heads)));
  w.set(key("attention.key_length"), Value::u32(uint32_t(c.head_dim)));
  w.set(key("attention.value_length"), Value::u32(uint32_t(c.head_dim)));
  w.set(key("rope.dimension_count"), Value::u32(uint32_t(c.head_dim)));
  w.set(key("rope.freq_base"), Value::f32(c.rope_theta));
  w.set(key("attention.layer_norm_rms_epsilon"), Value::f32(c.rms_norm_eps));
  w.set("general.file_type", Value::u32(gguf::file_type_of(type)));
  if (type == gguf::TensorType::Q8_0 || type == gguf::TensorType::Q4_0)
    w.set("general.quantization_version", Value::u32(gguf::kQuantizationVersion));
  gguf::write_tokenizer(w, tok,
                        {.n_vocab = c.vocab_size, .bos = c.bos_token_id, .eos = c.eos_token_id});
  w.set("tokenizer.chat_template", Value::string(chat_template(model_dir)));

  for (const ParamSpec& t : layout.tensors)
    w.add_f32(gguf_tensor_name(t.name), ggml_dims(t.shape), type_for(t, type),
              host.params.data() + t.offset);
  w.write(out_path);
}

void import_gguf(const std::string& gguf_path, const std::string& out_dir) {
  const gguf::GgufReader r = gguf::GgufReader::open(gguf_path);
  const std::string& arch = r.get_string("general.architecture");
  TANDEM_CHECK(arch == kArch, "{}: architecture '{}' (tandem imports qwen3)",
               r.where("general.architecture"), printable_name(arch));

  ModelConfig c;
  c.hidden_size = small_int(r, key("embedding_length"));
  c.num_hidden_layers = small_int(r, key("block_count"));
  c.intermediate_size = small_int(r, key("feed_forward_length"));
  c.num_attention_heads = small_int(r, key("attention.head_count"));
  c.num_key_value_heads = r.find(key("attention.head_count_kv"))
                              ? small_int(r, key("attention.head_count_kv"))
                              : c.num_attention_heads;
  c.head_dim = r.find(key("attention.key_length")) ? small_int(r, key("attention.key_length"))
               : c.num_attention_heads > 0         ? c.hidden_size / c.num_attention_heads
                                                   : 0;
  if (r.find(key("attention.value_length")))
    TANDEM_CHECK(small_int(r, key("attention.value_length")) == c.head_dim,
                 "{}: must equal attention.key_length ({}) in a Qwen3 model",
                 r.where(key("attention.value_length")), c.head_dim);
  if (r.find(key("rope.dimension_count")))
    TANDEM_CHECK(small_int(r, key("rope.dimension_count")) == c.head_dim,
                 "{}: partial rotary embeddings are not supported (head_dim {})",
                 r.where(key("rope.dimension_count")), c.head_dim);
  c.max_position_embeddings = small_int(r, key("context_length"));
  c.rms_norm_eps = float(r.get_float(key("attention.layer_norm_rms_epsilon")));
  c.rope_theta = r.find(key("rope.freq_base")) ? float(r.get_float(key("rope.freq_base")))
                                               : 10000.0f;  // llama.cpp's default
  const gguf::TensorEntry& embd = r.get_tensor("token_embd.weight");
  TANDEM_CHECK(embd.ne.size() == 2 && embd.ne[1] <= uint64_t(INT_MAX),
               "{}: tensor 'token_embd.weight' has dimensions [{}], expected [hidden, vocab]",
               gguf_path, fmt::join(embd.ne, ", "));
  c.vocab_size = int(embd.ne[1]);
  c.tie_word_embeddings = r.find_tensor("output.weight") == nullptr;
  Tokenizer tok = gguf::read_tokenizer(r);
  c.bos_token_id = tok.bos_id();
  c.eos_token_id = tok.eos_id();
  c.validate(gguf_path);
  TANDEM_CHECK(tok.vocab_size() <= c.vocab_size,
               "{}: the tokenizer has {} tokens but token_embd.weight only {} rows", gguf_path,
               tok.vocab_size(), c.vocab_size);

  // Every tensor is checked against the file before the slab is allocated, so its size is
  // bounded by what the file holds.
  const ParamLayout layout(c);
  std::set<std::string> expected;
  for (const ParamSpec& t : layout.tensors) {
    const std::string name = gguf_tensor_name(t.name);
    const gguf::TensorEntry& e = r.get_tensor(name);
    TANDEM_CHECK(
        e.ne == ggml_dims(t.shape),
        "{}: tensor '{}' has dimensions [{}] (ggml order), expected [{}] from the metadata",
        gguf_path, name, fmt::join(e.ne, ", "), fmt::join(ggml_dims(t.shape), ", "));
    expected.insert(name);
  }
  for (const auto& e : r.tensors())
    TANDEM_CHECK(expected.count(e.name), "{}: unexpected tensor '{}' (not part of a qwen3 model)",
                 gguf_path, printable_name(e.name));
  std::vector<float> params(size_t(layout.total));
  for (const ParamSpec& t : layout.tensors)
    r.read_f32(gguf_tensor_name(t.name), ggml_dims(t.shape), params.data() + t.offset);

  write_dir_atomic(out_dir, [&](const std::string& tmp) {
    save_model_dir(tmp, c, params.data());
    tok.save(tmp + "/tokenizer.json");
    tok.save_config(tmp + "/tokenizer_config.json");
  });
}

void round_like_gguf(const ParamLayout& layout, float* params, gguf::TensorType type) {
  if (type == gguf::TensorType::F32) return;
  std::vector<std::byte> encoded;
  for (const ParamSpec& t : layout.tensors) {
    const gguf::TensorType tt = type_for(t, type);
    if (tt == gguf::TensorType::F32) continue;
    const int64_t n = t.numel;
    encoded.resize(gguf::tensor_bytes(tt, uint64_t(n)));
    gguf::encode_tensor(tt, params + t.offset, n, encoded.data());
    gguf::decode_tensor(tt, encoded.data(), n, params + t.offset);
  }
}

}  // namespace tandem
