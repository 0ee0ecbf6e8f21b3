#pragma once
// Named model shapes. "demo" is the embedded default: small enough to learn the arithmetic task
// from scratch in a few minutes on 2 CPU cores, Qwen3 in every architectural detail.
#include <string>

#include "tandem/model/config.h"

namespace tandem {

// Throws tandem::Error for an unknown name. vocab_size comes from the tokenizer.
ModelConfig model_preset(const std::string& name, int vocab_size);

}  // namespace tandem
