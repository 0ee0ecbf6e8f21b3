#include "tandem/model/generate.h"

#include <algorithm>
#include <span>

#include "tandem/core/error.h"

namespace tandem {

std::vector<Completion> generate(Decoder& decoder, const std::vector<std::vector<int32_t>>& prompts,
                                 const GenerationConfig& cfg, uint64_t first_sequence,
                                 const std::function<void(size_t)>& on_done) {
  const int slots = decoder.slots();
  const int V = decoder.vocab_size();
  std::vector<Completion> out(prompts.size());
  std::vector<int64_t> owner(slots, -1);  // prompt index held by each slot
  std::vector<int32_t> next(slots, 0);    // token each active slot feeds at the next decode
  std::vector<bool> active(slots, false);
  std::vector<float> logits(size_t(slots) * V);
  size_t queued = 0, finished = 0;

  auto is_stop = [&](int32_t t) {
    return std::find(cfg.stop_tokens.begin(), cfg.stop_tokens.end(), t) != cfg.stop_tokens.end();
  };
  // Records a sampled token for slot s; returns false when that sequence is done.
  auto accept = [&](int s, std::span<const float> row) {
    const size_t i = size_t(owner[s]);
    Completion& c = out[i];
    const Sampled tok = sample_token(row, cfg.sampling, first_sequence + i, c.tokens.size());
    c.tokens.push_back(tok.token);
    c.logprobs.push_back(tok.logprob);
    const bool stop = is_stop(tok.token);
    const bool full = int(c.tokens.size()) >= cfg.max_new_tokens ||
                      decoder.length(s) >= decoder.max_len();
    if (!stop && !full) {
      next[s] = tok.token;
      return true;
    }
    c.finish = stop ? Completion::Finish::Stop : Completion::Finish::Length;
    ++finished;
    if (on_done) on_done(i);
    return false;
  };
  auto refill = [&](int s) {
    active[s] = false;
    while (queued < prompts.size()) {
      const size_t i = queued++;
      owner[s] = int64_t(i);
      TANDEM_CHECK(!prompts[i].empty(), "[generate] prompt {} is empty", i);
      TANDEM_CHECK(int(prompts[i].size()) < decoder.max_len(),
                   "[generate] prompt {} has {} tokens; the decoder holds at most {}", i,
                   prompts[i].size(), decoder.max_len() - 1);
      if (cfg.max_new_tokens <= 0) {
        ++finished;
        if (on_done) on_done(i);
        continue;
      }
      const std::vector<float> first = decoder.prefill(s, prompts[i]);
      if (accept(s, first)) {
        active[s] = true;
        return;
      }
    }
  };
  for (int s = 0; s < slots; ++s) refill(s);
  while (finished < prompts.size()) {
    decoder.decode(next, active, logits.data());
    for (int s = 0; s < slots; ++s)
      if (active[s] && !accept(s, std::span<const float>(logits.data() + size_t(s) * V, V)))
        refill(s);
  }
  return out;
}

}  // namespace tandem
