#pragma once
// HF Qwen3 config.json <-> ModelConfig. Loading checks every field's type and range, rejects
// settings this engine does not implement (another model_type, rope_scaling, sliding window,
// attention bias, another activation, a quantized checkpoint or a non-float torch_dtype) rather
// than silently running a different model, then calls ModelConfig::validate. Errors are one
// line: "<path>: field 'hidden_size': expected ...".
#include <string>
#include <string_view>

#include "tandem/model/config.h"

namespace tandem {

ModelConfig load_model_config(const std::string& path);
// The same from text already in memory; `where` prefixes error messages (a path, "fuzz input").
ModelConfig parse_model_config(std::string_view text, const std::string& where);

// generation_config.json: fills the bos/eos token ids that config.json left unset (config.json
// wins where both give one; a list keeps its first id), then validates against vocab_size.
void merge_generation_config(std::string_view text, const std::string& where, ModelConfig& config);
// A minimal generation_config.json with the config's bos/eos ids and pad_token_id (-1: none).
std::string format_generation_config(const ModelConfig& config, int pad_token_id = -1);

// Writes what HF transformers expects for Qwen3ForCausalLM, pretty-printed, atomically.
// torch_dtype names the dtype of the weights saved beside it ("float32", "bfloat16", "float16").
void save_model_config(const ModelConfig& config, const std::string& path,
                       const std::string& torch_dtype = "float32");
std::string format_model_config(const ModelConfig& config,
                                const std::string& torch_dtype = "float32");

}  // namespace tandem
