// tandem serve: an OpenAI-compatible HTTP server for a model directory (recipes/serve_job.h,
// docs/serving.md).
#include "tandem/backend/backend.h"
#include "tandem/cli/commands.h"
#include "tandem/cli/flags.h"
#include "tandem/recipes/serve_job.h"

namespace tandem::cli {

void add_serve_command(CLI::App& app) {
  auto a = std::make_shared<ServeJob>();
  auto* cmd = app.add_subcommand(
      "serve", "Serve a model over HTTP: OpenAI-compatible API, streaming, a web chat page at /");
  cmd->add_option("model", a->model_dir, "Model directory (config.json, model.safetensors, "
                                          "tokenizer.json)")
      ->required();
  serve::ServerConfig& s = a->server;
  cmd->add_option("--host", s.host, "Address to listen on (0.0.0.0: every interface)")
      ->capture_default_str();
  cmd->add_option("--port", s.port, "Port (0: any free one)")->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--slots", s.slots, "Sequences decoded together (continuous batching)")
      ->capture_default_str()->check(kPositive);
  cmd->add_option("--ctx", s.ctx, "Tokens per sequence, prompt and completion (0: the model's limit)")
      ->capture_default_str()->check(kNonNegative);
  cmd->add_option("--queue", s.queue, "Sequences that may wait for a slot; more get 429 (0: 4 x slots)")
      ->capture_default_str()->check(kNonNegative);
  cmd->add_option("--api-key", s.api_key, "Require 'Authorization: Bearer KEY' (all but / and /health)");
  cmd->add_option("--max-body", s.max_body_bytes, "Largest request body in bytes (413 above)")
      ->capture_default_str()->check(kPositive);
  cmd->add_option("--prefill-chunk", s.prefill_chunk,
                  "Prompt tokens prefilled per engine step, so long prompts do not stall streams")
      ->capture_default_str()->check(kPositive);
  cmd->add_option("--drain", s.drain_seconds,
                  "On SIGINT/SIGTERM, seconds in-flight requests may take to finish")
      ->capture_default_str()->check(kNonNegative);
  cmd->add_option("--threads", s.threads,
                  "Kernel threads of the engine (0: all cores but one, left for HTTP and clients)")
      ->capture_default_str()->check(kNonNegative);
  auto weights = std::make_shared<std::string>("f32");
  cmd->add_option("--weights", *weights,
                  "Compute with the weights rounded as a GGUF export of this type holds them "
                  "(f32, bf16, q8_0, q4_0): a stand-in for a chip that serves the export")
      ->capture_default_str()
      ->check(CLI::IsMember({"f32", "f16", "bf16", "q8_0", "q4_0"}, CLI::ignore_case));
  cmd->add_option("--admin-key", s.admin_key,
                  "Accept new weights from a trainer at POST /admin/weights with 'Authorization: "
                  "Bearer KEY' (tandem grpo --rollout-server); unset: weights never change");
  cmd->add_option("--model-name", s.model_name, "The model id clients name (default: the directory's name)");
  cmd->add_flag("--deterministic", a->deterministic,
                "Batch-invariant kernels (CPU): a row's results do not depend on the rows beside it");
  cmd->add_option("--backend", a->backend, "Device backend: " + backend_choices())
      ->capture_default_str();
  cmd->callback([a, weights] {
    a->server.weights = gguf::parse_tensor_type(*weights);
    ConsoleReporter reporter = console();
    run_serve(*a, reporter);
  });
}

}  // namespace tandem::cli
