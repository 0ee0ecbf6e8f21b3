#include "tandem/rl/rollout.h"

#include "tandem/data/chat_format.h"

namespace tandem {

std::vector<Rollout> rollout(const ModelWeights& model, const Tokenizer& tok, const tasks::Task& task,
                             const std::vector<tasks::Problem>& problems, RolloutConfig cfg,
                             uint64_t first_sequence, const std::function<void(size_t)>& on_done) {
  if (cfg.generation.stop_tokens.empty()) cfg.generation.stop_tokens = {chat_stop_token(tok)};
  if (cfg.max_len <= 0) cfg.max_len = model.config().max_position_embeddings;
  std::vector<Rollout> out(problems.size());
  std::vector<std::vector<int32_t>> prompts(problems.size());
  for (size_t i = 0; i < problems.size(); ++i) {
    out[i].problem = problems[i];
    prompts[i] = out[i].prompt = chat_prompt_tokens(tok, problems[i].prompt);
  }
  Decoder decoder(model, std::max(1, std::min<int>(cfg.slots, int(problems.size()))), cfg.max_len);
  Engine engine(decoder, &tok);
  auto completions = generate(engine, prompts, cfg.generation, first_sequence, on_done);
  std::vector<std::string_view> texts;
  for (size_t i = 0; i < problems.size(); ++i) {
    out[i].completion = std::move(completions[i]);
    texts.push_back(out[i].completion.text);
  }
  std::vector<tasks::Score> scores = task.score_all(problems, texts);
  for (size_t i = 0; i < problems.size(); ++i) out[i].score = std::move(scores[i]);
  return out;
}

LevelTally tally_level(const ModelWeights& model, const Tokenizer& tok, const tasks::Task& task,
                       int level, int begin, int end, uint64_t seed, int slots,
                       std::vector<Rollout>* keep) {
  std::vector<tasks::Problem> problems;
  for (int i = begin; i < end; ++i)
    problems.push_back(task.sample(level, tasks::Split::Heldout, seed, uint64_t(i)));
  RolloutConfig cfg;
  cfg.slots = slots;
  cfg.generation.max_new_tokens = model.config().max_position_embeddings;
  const auto rollouts = rollout(model, tok, task, problems, cfg);
  LevelTally t;
  for (const Rollout& r : rollouts) {
    t.correct += r.score.correct;
    t.formed += r.score.well_formed;
    t.tokens += double(r.completion.tokens.size());
  }
  if (keep) *keep = rollouts;
  return t;
}

LevelAccuracy accuracy_of(int level, int count, const LevelTally& t) {
  LevelAccuracy acc{level, count, t.correct, t.formed, t.tokens};
  if (count > 0) acc.accuracy /= count, acc.format_rate /= count, acc.mean_tokens /= count;
  return acc;
}

LevelAccuracy evaluate_level(const ModelWeights& model, const Tokenizer& tok, const tasks::Task& task,
                             int level, int count, uint64_t seed, int slots,
                             std::vector<Rollout>* keep) {
  return accuracy_of(level, count, tally_level(model, tok, task, level, 0, count, seed, slots, keep));
}

}  // namespace tandem
