#pragma once
// A tandem model directory (config.json, weights, tokenizer.json) <-> one GGUF file that
// llama.cpp loads as architecture "qwen3", laid out as llama.cpp's HF converter writes one:
//   tensor names   token_embd, blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output,
//                  attn_q_norm, attn_k_norm, ffn_norm, ffn_gate, ffn_up, ffn_down},
//                  output_norm, output (only when the head is not tied), all ".weight"
//   dimensions     ggml order, the HF shape reversed; no Q/K permutation (Qwen3 uses NEOX RoPE,
//                  which is HF's rotate_half layout)
//   tensor types   1-D norm gains always F32; matrices in the chosen type, or F16 when a row is
//                  not a whole number of 32-element blocks (the converter's fallback)
//   metadata       general.*, qwen3.* hyperparameters, tokenizer.ggml.* (gguf_tokenizer.h) and
//                  tokenizer.chat_template (tokenizer_config.json's, else Qwen3's)
// See docs/gguf.md for the full key table.
#include <string>

#include "tandem/io/gguf/gguf_format.h"
#include "tandem/model/param_layout.h"

namespace tandem {

// The GGUF name of an HF Qwen3 tensor name ("model.layers.3.mlp.up_proj.weight" ->
// "blk.3.ffn_up.weight"); throws for a name outside the Qwen3 layout.
std::string gguf_tensor_name(const std::string& hf_name);

// Writes model_dir as a GGUF file at out_path (atomically). `type` is the matrices' type.
// Errors name the directory or file, and the tensor (a non-finite weight, say).
void export_gguf(const std::string& model_dir, const std::string& out_path, gguf::TensorType type);

// Reads a qwen3 GGUF file (ours or llama.cpp's converter's, in any type tandem decodes) into a
// new model directory: config.json, model.safetensors (float32, dequantized), tokenizer.json and
// tokenizer_config.json. out_dir must not exist or be empty; it appears complete or not at all.
void import_gguf(const std::string& gguf_path, const std::string& out_dir);

// Rounds params (in `layout`'s order) in place to what a GGUF export in `type` holds: every matrix
// encoded in the type the export would choose for it (q8_0, q4_0, bf16, ...; F16 where rows are not
// whole blocks), then decoded back to float32; norms stay exact. A server given these weights
// computes what the exported model would, on the chip that only serves (docs/rl-across-engines.md).
void round_like_gguf(const ParamLayout& layout, float* params, gguf::TensorType type);

}  // namespace tandem
