#include "tandem/engine/generate.h"

#include "tandem/core/error.h"

namespace tandem {

std::vector<Completion> generate(Engine& engine, const std::vector<std::vector<int32_t>>& prompts,
                                 const GenerationConfig& cfg, uint64_t first_sequence,
                                 const std::function<void(size_t)>& on_done) {
  std::vector<Completion> out(prompts.size());
  std::vector<Engine::Id> submitted;
  for (size_t i = 0; i < prompts.size(); ++i) {
    Request r;
    r.prompt = prompts[i];
    r.generation = cfg;
    r.sequence = first_sequence + i;
    r.on_done = [&out, &on_done, i](Completion&& c) {
      out[i] = std::move(c);
      if (on_done) on_done(i);
    };
    try {
      submitted.push_back(engine.submit(std::move(r)));
    } catch (const Error& e) {  // leave the engine as it was: drop what this call queued
      for (Engine::Id id : submitted) engine.cancel(id);
      engine.run_until_idle();
      fail("prompt {}: {}", i, e.what());
    }
  }
  engine.run_until_idle();
  return out;
}

std::vector<Completion> generate(Decoder& decoder, const std::vector<std::vector<int32_t>>& prompts,
                                 const GenerationConfig& cfg, uint64_t first_sequence,
                                 const std::function<void(size_t)>& on_done) {
  Engine engine(decoder);
  return generate(engine, prompts, cfg, first_sequence, on_done);
}

}  // namespace tandem
