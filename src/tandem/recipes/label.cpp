#include "tandem/recipes/label.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "tandem/core/clock.h"
#include "tandem/core/error.h"
#include "tandem/core/json_text.h"
#include "tandem/io/file.h"
#include "tandem/io/json_file.h"
#include "tandem/recipes/model_dir.h"
#include "tandem/recipes/remote_rollouts.h"
#include "tandem/rl/rollout.h"

namespace tandem {

LabelResult run_label(const LabelJob& job, Reporter& rep) {
  if (job.samples <= 0) config_fail("`samples` must be positive, got {}", job.samples);
  if (job.keep != "shortest" && job.keep != "all")
    config_fail("`keep` must be shortest or all, got \"{}\"", job.keep);
  if (job.output.empty()) config_fail("`output` is required");
  if (job.prompts_per_batch <= 0)
    config_fail("`prompts_per_batch` must be positive, got {}", job.prompts_per_batch);
  const tasks::ProblemFileTask task(job.data, job.verifier, 0);  // every problem is labelled
  const LoadedModel lm = load_model(job.model_dir, job.backend);
  // Every problem once, level by level, in the file's seeded order.
  std::vector<tasks::Problem> all;
  for (int l = 1; l <= task.num_levels(); ++l)
    for (uint64_t i = 0; i < task.count(l, tasks::Split::Train); ++i)
      all.push_back(task.sample(l, tasks::Split::Train, job.seed, i));
  if (job.limit > 0 && int64_t(all.size()) > job.limit) all.resize(size_t(job.limit));

  std::unique_ptr<RemoteRollouts> remote;
  if (!job.servers.empty()) {
    if (job.admin_key.empty())
      config_fail("labelling on servers needs their admin key (`admin_key`) to send them weights");
    serve::PoolConfig pool;
    pool.urls = job.servers, pool.admin_key = job.admin_key;
    pool.requests_per_server = job.requests_per_server;
    remote = std::make_unique<RemoteRollouts>(pool, lm.tokenizer);
    remote->publish(*lm.model, 0);
  }
  RolloutConfig rc;
  rc.generation.max_new_tokens = job.max_new_tokens;
  rc.generation.sampling = {job.temperature, 0, 1.0f, job.seed};
  rc.slots = std::max(64, std::min(256, job.prompts_per_batch * job.samples));
  LabelResult res;
  res.problems = int64_t(all.size());
  AtomicFile out(job.output);
  nlohmann::json per_problem = nlohmann::json::array(), unsolved = nlohmann::json::array();
  const auto t0 = Clock::now();
  rep.begin("label", res.problems);
  for (size_t from = 0; from < all.size(); from += size_t(job.prompts_per_batch)) {
    const size_t to = std::min(all.size(), from + size_t(job.prompts_per_batch));
    std::vector<tasks::Problem> batch;
    for (size_t i = from; i < to; ++i) batch.insert(batch.end(), size_t(job.samples), all[i]);
    // Sequence numbers over the whole job: each sample its own random stream.
    const uint64_t first_sequence = uint64_t(from) * uint64_t(job.samples);
    const std::vector<Rollout> rollouts =
        remote ? remote->rollout(task, batch, rc, lm.model->config().max_position_embeddings,
                                 first_sequence)
               : rollout(*lm.model, lm.tokenizer, task, batch, rc, first_sequence);
    if (remote)
      for (const std::string& e : remote->take_stats().events) rep.note(e);
    for (size_t i = from; i < to; ++i) {
      const size_t first = (i - from) * size_t(job.samples);
      std::vector<const Rollout*> good;
      std::set<std::string> seen;
      for (size_t k = 0; k < size_t(job.samples); ++k) {
        const Rollout& r = rollouts[first + k];
        res.tokens += int64_t(r.completion.tokens.size());
        if (r.score.correct && seen.insert(r.completion.text).second) good.push_back(&r);
      }
      int accepted = 0;
      for (size_t k = 0; k < size_t(job.samples); ++k) accepted += rollouts[first + k].score.correct;
      res.samples += job.samples, res.accepted += accepted;
      std::string prompt = all[i].prompt;
      while (!prompt.empty() && prompt.back() == '\n') prompt.pop_back();
      per_problem.push_back({{"prompt", prompt}, {"accepted", accepted}, {"samples", job.samples}});
      if (good.empty()) {
        unsolved.push_back(prompt);
        continue;
      }
      ++res.solved;
      if (job.keep == "shortest") {
        const Rollout* best = *std::min_element(good.begin(), good.end(), [](auto* a, auto* b) {
          return a->completion.tokens.size() < b->completion.tokens.size();
        });
        good = {best};
      }
      for (const Rollout* r : good) {
        const nlohmann::json record = {{"messages", {{{"role", "user"}, {"content", prompt}},
                                                     {{"role", "assistant"}, {"content", r->completion.text}}}}};
        out.write(json_text(record, -1, InvalidUtf8::kReplace) + "\n");
        ++res.written;
      }
    }
    rep.update(int64_t(to), fmt::format("{:.0f}% accepted", 100.0 * double(res.accepted) /
                                                                 double(std::max<int64_t>(res.samples, 1))));
  }
  rep.end();
  out.commit();
  res.seconds = seconds_since(t0);
  write_json_file(job.output + ".stats.json",
                  {{"problems", res.problems},
                   {"solved", res.solved},
                   {"samples", res.samples},
                   {"accepted", res.accepted},
                   {"acceptance", double(res.accepted) / double(std::max<int64_t>(res.samples, 1))},
                   {"written", res.written},
                   {"tokens", res.tokens},
                   {"seconds", res.seconds},
                   {"tokens_per_s", double(res.tokens) / std::max(res.seconds, 1e-9)},
                   {"keep", job.keep},
                   {"per_problem", per_problem},
                   {"unsolved", unsolved}});
  std::string text = fmt::format(
      "{} problems x {} samples: {:.1f}% of samples verified; {} problems solved ({:.1f}%), {} "
      "unsolved; {} labels written to {} ({})\n{} tokens in {:.1f} s ({:.0f} tokens/s); per "
      "problem: {}.stats.json\n",
      res.problems, job.samples, 100.0 * double(res.accepted) / double(std::max<int64_t>(res.samples, 1)),
      res.solved, 100.0 * double(res.solved) / double(std::max<int64_t>(res.problems, 1)),
      res.problems - res.solved, res.written, job.output, job.keep, res.tokens, res.seconds,
      double(res.tokens) / std::max(res.seconds, 1e-9), job.output);
  for (size_t i = 0; i < unsolved.size() && i < 5; ++i)
    text += fmt::format("unsolved: {}\n", unsolved[i].get<std::string>());
  rep.result(text);
  return res;
}

}  // namespace tandem
