#include "tandem/serve/server.h"

#include <fmt/format.h>
#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "tandem/core/clock.h"
#include "tandem/engine/engine.h"
#include "tandem/io/gguf/model_gguf.h"
#include "tandem/io/model_files.h"
#include "tandem/serve/api_error.h"
#include "tandem/serve/generation_job.h"
#include "tandem/serve/metrics.h"
#include "tandem/serve/web_page.h"

namespace tandem::serve {

using nlohmann::json;

struct Server::Impl {
  explicit Impl(ServerConfig c) : cfg(std::move(c)) {}

  ServerConfig cfg;
  httplib::Server http;
  std::thread listener;
  int bound_port = 0;
  ServerMetrics metrics;

  // The model, once attached.
  std::atomic<bool> ready{false};
  std::atomic<bool> draining{false};
  ModelWeights* model = nullptr;
  const Tokenizer* tok = nullptr;
  std::string model_id;
  std::unique_ptr<Decoder> decoder;
  std::unique_ptr<Engine> engine;
  std::thread engine_thread;
  std::atomic<bool> engine_stop{false};
  Admission admission;
  std::once_flag shut;

  // Weight updates: an admin request parses and rounds them, the engine's thread swaps them in
  // between two steps and says so; one update at a time.
  struct PendingWeights {
    std::vector<float> params;
    std::string version;
  };
  WeightsVersion weights_version;
  std::mutex update_mutex;  // one admin update at a time
  std::mutex pending_mutex;
  std::condition_variable applied;
  std::optional<PendingWeights> pending;
  uint64_t updates = 0;

  void routes();
  void respond_error(httplib::Response& res, const ApiError& e);
  bool authorized(const httplib::Request& req) const;
  void generate(const httplib::Request& req, httplib::Response& res, Endpoint endpoint);
  void tokenize(const httplib::Request& req, httplib::Response& res);
  void update_weights(const httplib::Request& req, httplib::Response& res);
  void apply_pending_weights();  // the engine's thread, between steps
  void detokenize(const httplib::Request& req, httplib::Response& res);
  json models() const;
  void run_engine();
};

namespace {
void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(dump(body), "application/json");
}

const char* path_label(const std::string& path) {
  // A fixed set of labels: a metric per arbitrary path would let clients grow it without bound.
  for (const char* known : {"/v1/chat/completions", "/v1/completions", "/v1/models", "/health",
                            "/metrics", "/tokenize", "/detokenize", "/admin/weights", "/"})
    if (path == known) return known;
  return "other";
}
}  // namespace

void Server::Impl::respond_error(httplib::Response& res, const ApiError& e) {
  if (e.status() == 429 || e.status() == 503) res.set_header("Retry-After", "1");
  send_json(res, e.status(), e.body());
}

bool Server::Impl::authorized(const httplib::Request& req) const {
  if (req.path.rfind("/admin/", 0) == 0)  // never the API key: a client must not swap weights
    return !cfg.admin_key.empty() && req.get_header_value("Authorization") == "Bearer " + cfg.admin_key;
  if (cfg.api_key.empty() || req.path == "/" || req.path == "/health") return true;
  return req.get_header_value("Authorization") == "Bearer " + cfg.api_key;
}

json Server::Impl::models() const {
  json data = json::array();
  if (ready)
    data.push_back({{"id", model_id},
                    {"object", "model"},
                    {"created", 0},
                    {"owned_by", "tandem"},
                    {"max_model_len", decoder->max_len()}});
  return {{"object", "list"}, {"data", data}};
}

void Server::Impl::generate(const httplib::Request& req, httplib::Response& res,
                            Endpoint endpoint) {
  if (!ready) {
    metrics.rejected("loading");
    throw ApiError(503, "the model is still loading; retry shortly", "", "loading");
  }
  if (draining) {
    metrics.rejected("draining");
    throw ApiError(503, "the server is shutting down", "", "shutting_down");
  }
  const GenerationParams params = parse_generation_request(req.body, endpoint);
  if (!params.model.empty() && params.model != model_id)
    throw ApiError(404, fmt::format("model '{}' does not exist; this server serves '{}'",
                                    params.model, model_id),
                   "model", "model_not_found");
  if (req.body.size() > cfg.max_body_bytes)  // the HTTP limit is raised for weight updates
    throw ApiError(413, fmt::format("the body is larger than {} bytes", cfg.max_body_bytes), "",
                   "request_too_large");
  auto job = std::make_shared<GenerationJob>(params, *tok, *engine, admission, metrics, model_id,
                                             weights_version);
  job->submit();  // throws ApiError: 400 (context), 429 (queue full)
  if (!params.stream) {
    const json body = job->wait_whole();
    send_json(res, 200, body);
    return;
  }
  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [job](size_t, httplib::DataSink& sink) {
        return job->stream([&](const std::string& bytes) { return sink.write(bytes.data(), bytes.size()); },
                           [&] { sink.done(); });
      },
      [job](bool) { job->abandon(); });
}

void Server::Impl::tokenize(const httplib::Request& req, httplib::Response& res) {
  if (!ready) throw ApiError(503, "the model is still loading; retry shortly", "", "loading");
  const TokenizeParams p = parse_tokenize_request(req.body);
  const std::vector<int32_t> ids =
      p.is_chat ? chat_prompt(*tok, p.messages, p.enable_thinking) : tok->encode(p.prompt);
  send_json(res, 200, {{"tokens", ids}, {"count", ids.size()}, {"max_model_len", decoder->max_len()}});
}

void Server::Impl::detokenize(const httplib::Request& req, httplib::Response& res) {
  if (!ready) throw ApiError(503, "the model is still loading; retry shortly", "", "loading");
  std::vector<int32_t> ids;
  for (int64_t id : parse_detokenize_request(req.body)) {
    if (id < 0 || id >= tok->vocab_size())
      bad_request("tokens", fmt::format("token id {} is outside the vocabulary [0, {})", id,
                                        tok->vocab_size()));
    ids.push_back(int32_t(id));
  }
  send_json(res, 200, {{"prompt", tok->decode(ids)}});
}

// POST /admin/weights: the body is a safetensors file of the whole model in float32 (the HF
// names, as model.safetensors), X-Weights-Version names it. Answers once the engine computes with
// it: {"weights_version", "bytes", "parse_ms", "wait_ms"}.
void Server::Impl::update_weights(const httplib::Request& req, httplib::Response& res) {
  if (!ready) throw ApiError(503, "the model is still loading; retry shortly", "", "loading");
  const std::string version = req.get_header_value("X-Weights-Version");
  if (version.empty() || version.size() > 128)
    throw ApiError(400, "X-Weights-Version must name the weights (1 to 128 characters)",
                   "X-Weights-Version", "invalid_value");
  std::lock_guard one(update_mutex);
  const auto t0 = Clock::now();
  const ParamLayout& layout = model->layout();
  std::vector<float> params(layout.total);
  try {
    read_param_bytes(req.body, "POST /admin/weights", layout, {{"", params.data()}});
  } catch (const Error& e) {
    throw ApiError(400, e.what(), "body", "invalid_weights");
  }
  for (const ParamSpec& t : layout.tensors)
    for (int64_t i = 0; i < t.numel; ++i)
      if (!std::isfinite(params[t.offset + i]))
        throw ApiError(400, fmt::format("tensor '{}' holds a non-finite value at {}: refused, the "
                                        "served weights are unchanged", t.name, i),
                       "body", "invalid_weights");
  round_like_gguf(layout, params.data(), cfg.weights);
  const auto t1 = Clock::now();
  {
    std::unique_lock lock(pending_mutex);
    pending = PendingWeights{std::move(params), version};
    engine->wake();
    applied.wait(lock, [&] { return !pending || draining; });
    if (pending) {
      pending.reset();
      throw ApiError(503, "the server is shutting down", "", "shutting_down");
    }
  }
  const auto ms = [](Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
  send_json(res, 200, {{"weights_version", version}, {"bytes", req.body.size()},
                       {"parse_ms", ms(t1 - t0)}, {"wait_ms", ms(Clock::now() - t1)}});
}

void Server::Impl::apply_pending_weights() {
  std::lock_guard lock(pending_mutex);
  if (!pending) return;
  model->load_params(pending->params);
  engine->weights_changed();
  weights_version.set(std::move(pending->version));
  pending.reset();
  ++updates;
  applied.notify_all();
}

void Server::Impl::routes() {
  // Every handler runs inside one wrapper: its ApiError becomes OpenAI's error shape, anything
  // else a 500 that names it (a bug: a bad request must never reach here).
  auto wrap = [this](auto handler) {
    return [this, handler](const httplib::Request& req, httplib::Response& res) {
      try {
        if (!authorized(req)) throw ApiError(401, "missing or wrong API key (Authorization: Bearer ...)",
                                             "", "invalid_api_key");
        handler(req, res);
      } catch (const ApiError& e) {
        respond_error(res, e);
      } catch (const std::exception& e) {
        respond_error(res, ApiError(500, fmt::format("internal error: {}", e.what())));
      }
      metrics.request(path_label(req.path), res.status);
    };
  };
  // Before a body is read: a request over its limit, or an admin request without the admin key,
  // is answered without reading it.
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    const bool admin = req.path.rfind("/admin/", 0) == 0;
    const size_t length = std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10);
    std::optional<ApiError> refuse;
    if (admin && !authorized(req))
      refuse = cfg.admin_key.empty()
                   ? ApiError(404, fmt::format("no such endpoint: {} {} (weight updates are off: "
                                               "start the server with --admin-key)",
                                               req.method, req.path),
                              "", "not_found")
                   : ApiError(401, "missing or wrong admin key (Authorization: Bearer ...)", "",
                              "invalid_api_key");
    else if (!admin && length > cfg.max_body_bytes)
      refuse = ApiError(413, fmt::format("the body is larger than {} bytes", cfg.max_body_bytes),
                        "", "request_too_large");
    if (!refuse) return httplib::Server::HandlerResponse::Unhandled;
    respond_error(res, *refuse);
    metrics.request(path_label(req.path), res.status);
    return httplib::Server::HandlerResponse::Handled;
  });
  http.Get("/", wrap([](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(chat_page()), "text/html; charset=utf-8");
  }));
  http.Get("/health", wrap([this](const httplib::Request&, httplib::Response& res) {
    if (!ready) {
      res.set_header("Retry-After", "1");
      send_json(res, 503, {{"status", "loading"}});
    } else {
      send_json(res, draining ? 503 : 200, {{"status", draining ? "shutting_down" : "ok"}});
    }
  }));
  http.Get("/v1/models", wrap([this](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, models());
  }));
  http.Get("/metrics", wrap([this](const httplib::Request&, httplib::Response& res) {
    ServerMetrics::Gauges g;
    g.slots = cfg.slots, g.in_flight = admission.in_flight();
    if (ready) {
      g.queue_depth = engine->queued(), g.busy_slots = engine->running();
      const Engine::Counters c = engine->counters();
      g.decode_steps = c.decode_steps, g.decode_rows = c.decode_rows;
      g.prefill_tokens = c.prefill_tokens, g.engine_busy_seconds = c.busy_seconds;
    }
    res.set_content(metrics.render(g), "text/plain; version=0.0.4");
  }));
  http.Post("/v1/chat/completions", wrap([this](const httplib::Request& req, httplib::Response& res) {
    generate(req, res, Endpoint::Chat);
  }));
  http.Post("/v1/completions", wrap([this](const httplib::Request& req, httplib::Response& res) {
    generate(req, res, Endpoint::Completions);
  }));
  http.Post("/admin/weights", wrap([this](const httplib::Request& req, httplib::Response& res) {
    update_weights(req, res);
  }));
  http.Get("/admin/weights", wrap([this](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"weights_version", weights_version.get()},
                         {"precision", gguf::traits(cfg.weights).name}});
  }));
  http.Post("/tokenize", wrap([this](const httplib::Request& req, httplib::Response& res) {
    tokenize(req, res);
  }));
  http.Post("/detokenize", wrap([this](const httplib::Request& req, httplib::Response& res) {
    detokenize(req, res);
  }));
  // What no handler answered (unknown paths, methods, oversized or malformed requests) gets the
  // same error shape: 404, 405, 413, 400.
  http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    const int status = res.status;
    std::string message = status == 404   ? fmt::format("no such endpoint: {} {}", req.method, req.path)
                          : status == 413 ? fmt::format("the body is larger than {} bytes", cfg.max_body_bytes)
                                          : fmt::format("the request was not understood (HTTP {})", status);
    const char* code = status == 413 ? "request_too_large" : status == 404 ? "not_found" : "bad_request";
    send_json(res, status, ApiError(status, message, "", code).body());
    metrics.request(path_label(req.path), status);
  });
}

void Server::Impl::run_engine() {
  const int cores = int(std::thread::hardware_concurrency());
  model->backend().set_threads(cfg.threads > 0 ? cfg.threads : std::max(1, cores - 1));
  while (!engine_stop) {
    apply_pending_weights();
    if (!engine->step() && !engine_stop) engine->wait_for_work();
  }
}

Server::Server(ServerConfig cfg) : impl_(std::make_unique<Impl>(std::move(cfg))) {}

Server::~Server() { shutdown(); }

void Server::start() {
  Impl& s = *impl_;
  if (s.cfg.queue <= 0) s.cfg.queue = 4 * s.cfg.slots;
  // One HTTP thread per sequence that may be in flight, plus room for health checks, metrics and
  // the requests turned away: an excess client gets its 429 at once instead of waiting for a
  // thread. A streaming response holds its thread until it ends.
  const int threads = s.cfg.slots + s.cfg.queue + 16;
  s.http.new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };
  // Weight updates are model-sized; everything else is held to max_body_bytes before its body is
  // read (the pre-routing check in routes()), so only the admin key opens the larger limit.
  const size_t weights_limit = s.cfg.max_weights_bytes > 0 ? s.cfg.max_weights_bytes : size_t(1) << 40;
  s.http.set_payload_max_length(s.cfg.admin_key.empty() ? s.cfg.max_body_bytes
                                                        : std::max(s.cfg.max_body_bytes, weights_limit));
  s.http.set_keep_alive_max_count(1000);
  // A request arrives whole in well under this; a client that promises more bytes than it sends
  // (or none) holds its thread only this long.
  s.http.set_read_timeout(10, 0);
  s.http.set_write_timeout(30, 0);
  s.routes();
  // cpp-httplib listens with a backlog of 5: a burst of clients connecting at once would find the
  // queue full and their connections dropped or reset. Remember the listening socket, and listen
  // on it again with the system's maximum once bound (Linux updates the backlog in place).
  int listening = -1;
  s.http.set_socket_options([&listening](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listening = sock;
  });
  s.bound_port = s.cfg.port == 0 ? s.http.bind_to_any_port(s.cfg.host)
                                 : (s.http.bind_to_port(s.cfg.host, s.cfg.port) ? s.cfg.port : -1);
  TANDEM_CHECK(s.bound_port > 0, "cannot listen on {}:{} (address in use, or not an address of this "
               "machine)", s.cfg.host, s.cfg.port);
  if (listening >= 0) ::listen(listening, SOMAXCONN);
  s.listener = std::thread([&s] { s.http.listen_after_bind(); });
  // cpp-httplib's stop() does nothing until the listening loop runs: a server shut down right
  // after start() would otherwise leave its listener running and the join waiting forever.
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (!s.http.is_running() && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  TANDEM_CHECK(s.http.is_running(), "the HTTP listener on {}:{} did not start", s.cfg.host, s.bound_port);
}

int Server::port() const { return impl_->bound_port; }

void Server::attach(ModelWeights& model, const Tokenizer& tokenizer,
                    const std::string& model_id) {
  Impl& s = *impl_;
  const int limit = model.config().max_position_embeddings;
  const int ctx = s.cfg.ctx > 0 ? s.cfg.ctx : limit;
  TANDEM_CHECK(ctx >= 2 && ctx <= limit, "context {} must be in [2, {}] (the model's limit)", ctx,
               limit);
  s.model = &model, s.tok = &tokenizer, s.model_id = model_id;
  if (s.cfg.weights != gguf::TensorType::F32) {
    std::vector<float> params = model.read_params();
    round_like_gguf(model.layout(), params.data(), s.cfg.weights);
    model.load_params(params);
  }
  s.decoder = std::make_unique<Decoder>(model, s.cfg.slots, ctx);
  EngineConfig ec;
  ec.prefill_chunk = s.cfg.prefill_chunk;
  s.engine = std::make_unique<Engine>(*s.decoder, &tokenizer, ec);
  s.admission.set_capacity(s.cfg.slots + s.cfg.queue);
  s.engine_thread = std::thread([&s] { s.run_engine(); });
  s.ready = true;
}

void Server::shutdown() {
  Impl& s = *impl_;
  std::call_once(s.shut, [&s] {
    s.draining = true;
    {
      std::lock_guard lock(s.pending_mutex);  // a weight update waiting for the engine gives up
      s.applied.notify_all();
    }
    if (s.ready) {
      const auto deadline = Clock::now() + std::chrono::duration<double>(s.cfg.drain_seconds);
      while (s.admission.in_flight() > 0 && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      s.engine->cancel_all();
      const auto hard = Clock::now() + std::chrono::seconds(5);
      while (s.admission.in_flight() > 0 && Clock::now() < hard)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    s.http.stop();
    if (s.listener.joinable()) s.listener.join();
    if (s.engine_thread.joinable()) {
      s.engine_stop = true;
      s.engine->wake();
      s.engine_thread.join();
    }
    // Nothing runs any more: free the engine and the KV cache now, while the model (whose backend
    // owns their memory) surely still exists.
    s.ready = false;
    s.engine.reset();
    s.decoder.reset();
  });
}

}  // namespace tandem::serve
