#include "tandem/recipes/task_data.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "tandem/core/error.h"
#include "tandem/core/json_text.h"
#include "tandem/data/sft_batches.h"
#include "tandem/data/tasks/task.h"
#include "tandem/io/file.h"
#include "tandem/recipes/evaluation.h"
#include "tandem/recipes/model_dir.h"

namespace tandem {

void run_task_data(const TaskDataJob& job, Reporter& rep) {
  const auto task = tasks::make_task(job.task);
  check_levels(*task, job.levels, "levels");
  if (job.levels.size() != job.level_weights.size())
    config_fail("`level_weights` needs one weight per entry of `levels` ({}), got {}",
                job.levels.size(), job.level_weights.size());
  if (job.count <= 0) config_fail("`count` must be positive, got {}", job.count);
  if (job.format != "chat" && job.format != "problems")
    config_fail("`format` must be chat or problems, got \"{}\"", job.format);
  if (job.split != "train" && job.split != "heldout")
    config_fail("`split` must be train or heldout, got \"{}\"", job.split);
  if (job.output.empty()) config_fail("`output` is required");
  const tasks::Split split = job.split == "train" ? tasks::Split::Train : tasks::Split::Heldout;
  const Tokenizer tok = demo_tokenizer();  // the examples' text does not depend on it
  const TaskExamples examples(*task, tok, SftMix{job.levels, job.level_weights}, job.seed);
  AtomicFile out(job.output);
  rep.begin("write " + job.output, job.count);
  for (int64_t g = 0; g < job.count; ++g) {
    const tasks::Problem p = examples.problem(uint64_t(g), split);
    std::string prompt = p.prompt;  // as the chat prompt renders it (data/chat_format.h)
    while (!prompt.empty() && prompt.back() == '\n') prompt.pop_back();
    nlohmann::json record;
    if (job.format == "chat") {
      record = {{"messages", {{{"role", "user"}, {"content", prompt}},
                              {{"role", "assistant"}, {"content", p.solution}}}}};
    } else {
      record = {{"prompt", prompt}, {"answer", p.answer}, {"level", p.level}};
    }
    out.write(json_text(record) + "\n");
    if (g % 1000 == 0) rep.update(g);
  }
  rep.update(job.count);
  rep.end();
  out.commit();
  rep.result(fmt::format("{} {} records ({} split, seed {}) in {}\n", job.count, job.format,
                         job.split, job.seed, job.output));
}

}  // namespace tandem
