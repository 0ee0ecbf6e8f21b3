#pragma once
// A tiny Qwen3 model directory as tandem writes it (config.json, model.safetensors, tokenizer
// files), and helpers to take safetensors files apart and put them back, for the checkpoint tests.
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "support/test_models.h"
#include "tandem/io/model_files.h"
#include "tandem/io/safetensors.h"
#include "tandem/io/safetensors_writer.h"
#include "tandem/model/param_layout.h"
#include "tandem/tokenizer/tokenizer.h"

namespace tandem::test {

// The model these directories hold: narrower than the common tiny one.
inline ModelConfig model_dir_config(bool tied) {
  return tiny_config({.vocab = 300,  // more than the tokenizer's 258, as real models pad theirs
                      .hidden = 16,
                      .heads = 2,
                      .kv_heads = 1,
                      .head_dim = 8,
                      .intermediate = 24,
                      .max_positions = 32,
                      .tied = tied});
}

inline std::vector<float> random_params(const ModelConfig& c, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> p(size_t(ParamLayout(c).total));
  for (float& x : p) x = normal(gen);
  return p;
}

inline Tokenizer tiny_tokenizer() {
  Tokenizer tok = Tokenizer::bytes_only({"<|endoftext|>", "<|im_end|>"});  // ids 256, 257
  tok.set_roles({.bos = "", .eos = "<|im_end|>", .pad = "<|endoftext|>", .unk = ""});
  return tok;
}

// Writes a tandem model directory; returns its parameters.
inline std::vector<float> make_model_dir(const std::string& dir, bool tied, unsigned seed = 1) {
  const ModelConfig c = model_dir_config(tied);
  std::vector<float> params = random_params(c, seed);
  save_model_dir(dir, c, params.data());
  const Tokenizer tok = tiny_tokenizer();
  tok.save(dir + "/tokenizer.json");
  tok.save_config(dir + "/tokenizer_config.json");
  return params;
}

// A safetensors file's tensors with their bytes, to edit and write back.
struct RawTensor {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

inline std::vector<RawTensor> read_tensors(const std::string& path) {
  const SafetensorsReader r = SafetensorsReader::open(path);
  std::vector<RawTensor> out;
  for (const TensorInfo& t : r.tensors())
    out.push_back({t.name, t.dtype, t.shape,
                   std::string(reinterpret_cast<const char*>(r.data(t)), t.nbytes)});
  return out;
}

inline void write_tensors(const std::string& path, const std::vector<RawTensor>& tensors) {
  SafetensorsWriter w;
  w.set_metadata("format", "pt");
  for (const RawTensor& t : tensors) w.add(t.name, t.dtype, t.shape, t.bytes.data());
  w.write(path);
}

inline size_t count_files(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

}  // namespace tandem::test
