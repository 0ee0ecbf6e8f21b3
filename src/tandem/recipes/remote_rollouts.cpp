#include "tandem/recipes/remote_rollouts.h"

#include <fmt/format.h>

#include <algorithm>
#include <random>

#include "tandem/data/chat_format.h"
#include "tandem/io/model_files.h"

namespace tandem {

namespace {
constexpr int kMaxSamplesPerRequest = 16;  // the server's limit on n
}  // namespace

RemoteRollouts::RemoteRollouts(serve::PoolConfig pool, const Tokenizer& tok)
    : pool_(std::move(pool)), tok_(tok),
      nonce_(fmt::format("{:08x}", std::random_device{}())) {}

void RemoteRollouts::publish(const ModelWeights& policy, int64_t updates) {
  std::vector<float> params = policy.read_params();
  pool_.set_weights(fmt::format("{}-{}", nonce_, updates),
                    param_set_bytes(policy.layout(), {{"", params.data()}}));
}

std::vector<Rollout> RemoteRollouts::rollout(const tasks::Task& task,
                                             const std::vector<tasks::Problem>& problems,
                                             const RolloutConfig& cfg, int max_positions,
                                             uint64_t first_sequence) {
  std::vector<int32_t> stops = cfg.generation.stop_tokens;
  if (stops.empty()) stops = {chat_stop_token(tok_)};
  // Groups of equal consecutive problems (GRPO's G samples of one prompt): one request each.
  std::vector<serve::SamplePrompt> requests;
  std::vector<size_t> first_of;
  for (size_t i = 0; i < problems.size();) {
    size_t j = i + 1;
    while (j < problems.size() && j - i < size_t(kMaxSamplesPerRequest) &&
           problems[j].prompt == problems[i].prompt)
      ++j;
    requests.push_back({chat_prompt_tokens(tok_, problems[i].prompt), int(j - i), first_sequence + i});
    first_of.push_back(i);
    i = j;
  }
  serve::SampleParams sp;
  sp.temperature = cfg.generation.sampling.temperature;
  sp.seed = cfg.generation.sampling.seed;
  sp.stop_token_ids = stops;
  std::vector<Rollout> out(problems.size());
  size_t longest = 0;
  for (const auto& r : requests) longest = std::max(longest, r.prompt.size());
  // The server holds prompt + completion within its context, as the in-process decoder does.
  sp.max_tokens = std::max(1, std::min(cfg.generation.max_new_tokens, max_positions - int(longest)));
  const auto samples = pool_.sample(requests, sp);
  for (size_t g = 0; g < requests.size(); ++g)
    for (int k = 0; k < requests[g].n; ++k) {
      const size_t i = first_of[g] + size_t(k);
      const serve::Sample& s = samples[g][size_t(k)];
      Rollout& r = out[i];
      r.problem = problems[i];
      r.prompt = requests[g].prompt;
      r.completion.tokens = s.tokens;
      r.completion.logprobs = s.logprobs;
      r.completion.finish = s.stopped ? Completion::Finish::Stop : Completion::Finish::Length;
      // The text as the engine builds it: each token's bytes but the stop token's.
      for (int32_t t : s.tokens)
        if (std::find(stops.begin(), stops.end(), t) == stops.end() && t < tok_.vocab_size())
          r.completion.text += tok_.decode(std::span(&t, 1));
      r.score = task.score(problems[i], r.completion.text);
    }
  return out;
}

}  // namespace tandem
