#pragma once
// The HTTP server: OpenAI-compatible endpoints over one generation engine, a web chat page at /,
// health, Prometheus metrics, tokenize/detokenize. cpp-httplib (Debian's libcpp-httplib) carries
// HTTP; one thread runs the engine's step loop and every request becomes engine requests whose
// callbacks feed the waiting HTTP thread. Admission is bounded: at most slots + queue sequences
// are in flight; past that a request is answered 429 with Retry-After at once, never left hanging
// or reset. Endpoints, fields and limits: docs/serving.md.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "tandem/io/gguf/gguf_format.h"
#include "tandem/model/weights.h"
#include "tandem/tokenizer/tokenizer.h"

namespace tandem::serve {

struct ServerConfig {
  std::string host = "127.0.0.1";  // loopback unless asked: a model server is not a public one
  int port = 8080;                 // 0: any free port (tests); port() tells which
  int slots = 8;                   // sequences decoded together
  int ctx = 0;                     // tokens per slot (prompt + completion); 0: the model's limit
  int queue = 0;                   // sequences waiting for a slot; 0: 4 x slots
  std::string api_key;             // when set, every endpoint but / and /health needs it
  size_t max_body_bytes = size_t(1) << 20;
  double drain_seconds = 10;       // on shutdown, how long in-flight requests may finish
  int prefill_chunk = 256;         // prompt tokens per engine step, so long prompts do not stall
  int threads = 0;                 // the engine's kernel threads; 0: all cores but one (>= 1),
                                   // the one left for HTTP and for clients on the same machine
  std::string model_name;          // the id clients name; "" : the model directory's name
  // The precision the server computes in: its weights rounded as a GGUF export of this type
  // holds them (bf16, q8_0, q4_0), standing for a chip that serves what tandem exports; the
  // weights a trainer sends are rounded the same way. F32: as given.
  gguf::TensorType weights = gguf::TensorType::F32;
  // When set, POST /admin/weights (a trainer's new policy) and GET /admin/weights answer to
  // "Authorization: Bearer <admin_key>"; unset, weights never change and /admin/* is 404.
  std::string admin_key;
  // Weight updates larger than this are refused (413); 0: the model's float32 size + 1 MiB.
  size_t max_weights_bytes = 0;
};

class Server {
 public:
  explicit Server(ServerConfig cfg);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts answering on background threads; until attach(), /health says "loading"
  // (503) and generation requests get 503 with Retry-After. Throws tandem::Error when it cannot
  // bind (address in use, bad host).
  void start();
  int port() const;
  // The model to serve from now on (weights and tokenizer must outlive the server). The server
  // rounds the weights to cfg.weights in place, and replaces them with what a trainer sends to
  // /admin/weights (between engine steps; docs/rl-across-engines.md).
  void attach(ModelWeights& model, const Tokenizer& tokenizer, const std::string& model_id);
  // Stops taking requests (503), lets in-flight ones finish for up to drain_seconds, cancels the
  // rest, stops every thread and frees the KV cache; the model may be destroyed after it. The
  // destructor calls it. Idempotent.
  void shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tandem::serve
