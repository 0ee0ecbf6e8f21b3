#include "tandem/recipes/serve_job.h"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "tandem/core/signals.h"
#include "tandem/recipes/model_dir.h"

namespace tandem {

namespace {
// A run's model directory is "<run>/model": name it "<run>/model" rather than just "model".
std::string model_id(const std::string& dir) {
  const std::filesystem::path p = std::filesystem::path(dir).lexically_normal();
  const std::filesystem::path clean = p.filename().empty() ? p.parent_path() : p;
  std::string id = clean.filename().string();
  if (id == "model" && clean.has_parent_path() && !clean.parent_path().filename().empty())
    id = clean.parent_path().filename().string() + "/model";
  return id.empty() || id == "." || id == ".." ? "tandem" : id;
}
}  // namespace

void run_serve(const ServeJob& job, Reporter& reporter) {
  install_stop_handler();
  serve::Server server(job.server);
  server.start();
  const std::string where = fmt::format("http://{}:{}", job.server.host, server.port());
  reporter.note(fmt::format("listening on {} (loading {})", where, job.model_dir));
  LoadedModel lm = load_model(job.model_dir, job.backend);
  if (job.deterministic) lm.backend->set_batch_invariant(true);
  std::string id = job.server.model_name.empty() ? model_id(job.model_dir) : job.server.model_name;
  server.attach(*lm.model, lm.tokenizer, id);
  reporter.result(fmt::format("serving '{}' at {} ({} slots; chat page at {}/)\n", id, where,
                              job.server.slots, where));
  while (!stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  reporter.note(fmt::format("stopping: finishing in-flight requests (at most {:.0f} s)",
                            job.server.drain_seconds));
  server.shutdown();
  reporter.note("stopped");
}

}  // namespace tandem
