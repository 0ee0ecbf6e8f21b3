#pragma once
// `tandem serve`: listen at once (health says "loading"), load the model directory, answer until
// SIGINT/SIGTERM, then drain: stop taking requests, let in-flight ones finish for a bounded time,
// cancel the rest, exit cleanly.
#include <string>

#include "tandem/core/reporter.h"
#include "tandem/serve/server.h"

namespace tandem {

struct ServeJob {
  std::string model_dir;
  std::string backend = "cpu";
  bool deterministic = false;  // batch-invariant kernels (Backend::set_batch_invariant)
  serve::ServerConfig server;
};

void run_serve(const ServeJob& job, Reporter& reporter);

}  // namespace tandem
