#pragma once
// Moving models to and from the HF ecosystem (transformers, vLLM, the Hub). An HF checkpoint
// directory holds config.json, the weights as safetensors (model.safetensors, or shards listed by
// model.safetensors.index.json: io/weight_files.h), generation_config.json and the tokenizer
// (tokenizer.json, tokenizer_config.json). A tandem model directory is the same layout with one
// float32 model.safetensors, so both directions are one conversion with different settings.
#include <cstdint>
#include <string>
#include <string_view>

#include "tandem/io/safetensors.h"

namespace tandem {

struct HfExportOptions {
  DType dtype = DType::F32;                  // F32, or BF16 (rounded to nearest even)
  uint64_t max_shard_bytes = 5'000'000'000;  // transformers' default "5GB"; 0: always one file
};

// Reads `model_dir` (tandem's or HF's, sharded or not) and writes it to `out_dir` as transformers'
// save_pretrained would: config.json with torch_dtype, weights (tied models without
// lm_head.weight), generation_config.json (copied, or made from the config's and tokenizer's
// bos/eos/pad ids), tokenizer.json and tokenizer_config.json (copied as they are, so fields
// tandem does not use, such as chat_template, survive). `out_dir` must not exist or be empty; it
// is written atomically (absent or complete).
void export_hf(const std::string& model_dir, const std::string& out_dir,
               const HfExportOptions& options = {});

// Reads an HF checkpoint directory (tensors in F32, F16 or BF16, any mix; sharded or not) and
// writes a tandem model directory at `out_dir`: float32 weights in one model.safetensors, config
// normalised, tokenizer files and generation_config.json as they were. Atomic like export_hf.
void import_hf(const std::string& hf_dir, const std::string& out_dir);

// "5GB" (10^9 bytes, as transformers counts), "500MB", "2GiB" (2^30), "1.5GB", "123" or "123B";
// case-insensitive. Throws tandem::Error "<what>: expected ..." otherwise.
uint64_t parse_byte_size(std::string_view text, std::string_view what);

}  // namespace tandem
