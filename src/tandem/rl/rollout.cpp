#include "tandem/rl/rollout.h"

#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>

#include "tandem/data/chat_format.h"

namespace tandem {

namespace {
// A decode step of the small models is many tiny operations: split over threads, each costs a
// barrier, and two threads bought 1.2-1.4x. The sequences are independent, so on a CPU backend the
// prompts are shared out to single-threaded engines running side by side instead (no barrier
// until the end), each with its share of the slots. A share needs enough sequences to batch.
constexpr size_t kMinShare = 16;

// Cuts [0, n) into `parts` contiguous shares of about equal size, never inside a run of equal
// prompts (a GRPO group prefills its prompt once, in one engine): bounds[k] .. bounds[k + 1].
std::vector<size_t> share_bounds(const std::vector<std::vector<int32_t>>& prompts, int parts) {
  const size_t n = prompts.size();
  std::vector<size_t> bounds = {0};
  for (int k = 1; k < parts; ++k) {
    size_t cut = std::max(bounds.back(), n * size_t(k) / size_t(parts));
    while (cut > bounds.back() && cut < n && prompts[cut] == prompts[cut - 1]) ++cut;
    if (cut > bounds.back() && cut < n) bounds.push_back(cut);
  }
  bounds.push_back(n);
  return bounds;
}
}  // namespace

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
  const int workers = int(std::min<size_t>(size_t(std::max(1, model.backend().threads())),
                                           std::max<size_t>(1, problems.size() / kMinShare)));
  const std::vector<size_t> bounds = share_bounds(prompts, workers);
  const int shares = int(bounds.size()) - 1;
  std::mutex done_mutex;  // on_done is called from every engine's thread, one call at a time
  std::vector<std::exception_ptr> errors(shares);
  // Share k: its prompts' completions written into `out`, sequence numbers as if one engine ran.
  const auto run_share = [&](int k) {
    try {
      const size_t begin = bounds[k], end = bounds[k + 1];
      if (shares > 1) model.backend().set_threads(1);
      const std::vector<std::vector<int32_t>> mine(prompts.begin() + begin, prompts.begin() + end);
      const int slots = (cfg.slots + shares - 1) / shares;
      Decoder decoder(model, std::max(1, std::min<int>(slots, int(mine.size()))), cfg.max_len);
      Engine engine(decoder, &tok);
      auto completions =
          generate(engine, mine, cfg.generation, first_sequence + begin, [&](size_t i) {
            if (!on_done) return;
            std::lock_guard<std::mutex> lock(done_mutex);
            on_done(begin + i);
          });
      for (size_t i = begin; i < end; ++i) out[i].completion = std::move(completions[i - begin]);
    } catch (...) {
      errors[k] = std::current_exception();
    }
  };
  if (shares == 1) {
    run_share(0);
  } else {
    std::vector<std::thread> threads;
    for (int k = 0; k < shares; ++k) threads.emplace_back(run_share, k);
    for (std::thread& t : threads) t.join();
  }
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
  std::vector<std::string_view> texts;
  for (size_t i = 0; i < problems.size(); ++i) texts.push_back(out[i].completion.text);
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
