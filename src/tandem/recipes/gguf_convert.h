#pragma once
// The GGUF jobs behind `tandem export --format gguf` and `tandem import --format gguf`: the
// conversion in io/gguf/model_gguf.h plus the line a user reads, so the CLI and the llama.cpp
// parity runner (tests/gguf/gguf_runner.cpp) do the same thing.
#include <string>

namespace tandem {

// Writes model_dir as one GGUF file; type is f32, f16, bf16, q8_0 or q4_0 (UsageError
// otherwise). Prints one line with what was written; returns 0 (errors throw tandem::Error).
int run_export_gguf(const std::string& model_dir, const std::string& out, const std::string& type);
// Reads a qwen3 GGUF file into a new model directory (weights dequantized to float32). Prints one
// line; returns 0 (errors throw tandem::Error).
int run_import_gguf(const std::string& gguf_path, const std::string& out_dir);

}  // namespace tandem
