#pragma once
// Batch generation through the engine: a fixed list of prompts, all with the same settings,
// completions back in prompt order. What `tandem generate`, evaluation and GRPO rollouts call.
#include <cstdint>
#include <functional>
#include <vector>

#include "tandem/engine/engine.h"

namespace tandem {

// Prompt i samples as sequence first_sequence + i, so results do not depend on the number of
// slots or on which slot a prompt lands in. on_done(i) is called as each finishes.
std::vector<Completion> generate(Engine& engine, const std::vector<std::vector<int32_t>>& prompts,
                                 const GenerationConfig& cfg, uint64_t first_sequence = 0,
                                 const std::function<void(size_t)>& on_done = {});
// The same on an engine of its own over `decoder`, without a tokenizer (tokens only).
std::vector<Completion> generate(Decoder& decoder, const std::vector<std::vector<int32_t>>& prompts,
                                 const GenerationConfig& cfg, uint64_t first_sequence = 0,
                                 const std::function<void(size_t)>& on_done = {});

}  // namespace tandem
