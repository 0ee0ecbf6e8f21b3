#pragma once
// HF Qwen3 config.json <-> ModelConfig. Loading checks every field's type and range, rejects
// settings this engine does not implement (another model_type, rope_scaling, sliding window,
// attention bias, another activation) rather than silently running a different model, then calls
// ModelConfig::validate. Errors are one line: "<path>: field 'hidden_size': expected ...".
#include <string>
#include <string_view>

#include "tandem/model/config.h"

namespace tandem {

ModelConfig load_model_config(const std::string& path);
// The same from text already in memory; `where` prefixes error messages (a path, "fuzz input").
ModelConfig parse_model_config(std::string_view text, const std::string& where);

// Writes what HF transformers expects for Qwen3ForCausalLM, pretty-printed, atomically.
// torch_dtype names the dtype of the weights saved beside it ("float32", "bfloat16", "float16").
void save_model_config(const ModelConfig& config, const std::string& path,
                       const std::string& torch_dtype = "float32");
std::string format_model_config(const ModelConfig& config,
                                const std::string& torch_dtype = "float32");

}  // namespace tandem
