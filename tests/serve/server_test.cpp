// The server in-process, driven over real HTTP (cpp-httplib's client): the OpenAI shapes,
// streaming equal to the whole answer, seeds, choices and logprobs, every error status, the
// bounded queue (429 with Retry-After, never a reset), a client that goes away, and shutdown.
#include "tandem/serve/server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/served_model.h"
#include "tandem/backend/backend.h"
#include "tandem/recipes/model_dir.h"

namespace tandem::serve {
namespace {

using nlohmann::json;


class ServerTest : public ::testing::Test {
 protected:
  void start(ServerConfig cfg = {}, bool attach = true) {
    cfg.port = 0;
    if (cfg.slots == 8) cfg.slots = 2;
    server_ = std::make_unique<Server>(cfg);
    server_->start();
    if (attach) server_->attach(m_.model, m_.tok, "tiny");
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(30, 0);
  }
  void TearDown() override {
    if (server_) server_->shutdown();
  }
  httplib::Result post(const std::string& path, const json& body,
                       const httplib::Headers& headers = {}) {
    return client_->Post(path.c_str(), headers, body.dump(), "application/json");
  }
  static json chat(const std::string& text, json extra = json::object()) {
    json body = {{"messages", {{{"role", "user"}, {"content", text}}}}, {"max_tokens", 24}};
    body.update(extra);
    return body;
  }
  // The data lines of an SSE body, [DONE] excluded; `done` says whether it was the last.
  static std::vector<json> events(const std::string& body, bool* done = nullptr) {
    std::vector<json> out;
    size_t at = 0;
    bool saw_done = false;
    while ((at = body.find("data: ", at)) != std::string::npos) {
      const size_t end = body.find("\n\n", at);
      const std::string data = body.substr(at + 6, end - at - 6);
      at = end;
      if (data == "[DONE]") saw_done = true;
      else out.push_back(json::parse(data));
    }
    if (done) *done = saw_done;
    return out;
  }

  test::ServedModel m_{1024};
  std::unique_ptr<Server> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(ServerTest, HealthSaysLoadingUntilAModelIsAttached) {
  start({}, /*attach=*/false);
  auto r = client_->Get("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  r = post("/v1/chat/completions", chat("hi"));
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(json::parse(r->body)["error"]["code"], "loading");
  server_->attach(m_.model, m_.tok, "tiny");
  EXPECT_EQ(client_->Get("/health")->status, 200);
  const json models = json::parse(client_->Get("/v1/models")->body);
  EXPECT_EQ(models["data"][0]["id"], "tiny");
}

TEST_F(ServerTest, StreamedEqualsWholeAndSeedsReproduce) {
  start();
  for (const json& sampling : {json{{"temperature", 0}}, json{{"temperature", 1.0}, {"seed", 5}}}) {
    json body = chat("What is 2 + 2?", sampling);
    const auto whole = post("/v1/chat/completions", body);
    ASSERT_EQ(whole->status, 200) << whole->body;
    const json w = json::parse(whole->body);
    EXPECT_EQ(w["object"], "chat.completion");
    EXPECT_EQ(w["model"], "tiny");
    const json& msg = w["choices"][0]["message"];
    EXPECT_EQ(msg["role"], "assistant");
    EXPECT_GT(w["usage"]["completion_tokens"].get<int>(), 0);
    EXPECT_EQ(w["usage"]["total_tokens"],
              w["usage"]["prompt_tokens"].get<int>() + w["usage"]["completion_tokens"].get<int>());
    // The same request again: the same answer (greedy, or the same seed).
    EXPECT_EQ(json::parse(post("/v1/chat/completions", body)->body)["choices"][0]["message"], msg);
    body["stream"] = true;
    body["stream_options"] = {{"include_usage", true}};
    const auto streamed = post("/v1/chat/completions", body);
    ASSERT_EQ(streamed->status, 200);
    EXPECT_EQ(streamed->get_header_value("Content-Type"), "text/event-stream");
    bool done = false;
    const auto chunks = events(streamed->body, &done);
    EXPECT_TRUE(done) << "no data: [DONE]";
    std::string content, reasoning, finish;
    for (const json& c : chunks) {
      EXPECT_EQ(c["object"], "chat.completion.chunk");
      if (c["choices"].empty()) {  // the usage chunk
        EXPECT_EQ(c["usage"], w["usage"]);
        continue;
      }
      const json& d = c["choices"][0]["delta"];
      content += d.value("content", "");
      reasoning += d.value("reasoning_content", "");
      if (!c["choices"][0]["finish_reason"].is_null()) finish = c["choices"][0]["finish_reason"];
    }
    EXPECT_EQ(content, msg["content"]);
    EXPECT_EQ(reasoning, msg.value("reasoning_content", ""));
    EXPECT_EQ(finish, w["choices"][0]["finish_reason"]);
  }
}

TEST_F(ServerTest, ChoicesLogprobsAndCompletions) {
  start();
  const auto r = post("/v1/chat/completions",
                      chat("hi", {{"n", 3}, {"temperature", 1}, {"seed", 11}, {"logprobs", true},
                                  {"top_logprobs", 2}}));
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  ASSERT_EQ(j["choices"].size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const json& lp = j["choices"][i]["logprobs"]["content"];
    ASSERT_FALSE(lp.empty());
    for (const json& t : lp) {
      EXPECT_LE(t["logprob"].get<double>(), 0.0);
      ASSERT_EQ(t["top_logprobs"].size(), 2u);
      EXPECT_GE(t["top_logprobs"][0]["logprob"].get<double>(), t["top_logprobs"][1]["logprob"].get<double>());
    }
  }
  // Text completions: raw prompt, echo of the legacy logprobs shape.
  const auto c = post("/v1/completions", {{"prompt", "12+7="}, {"max_tokens", 5}, {"temperature", 0},
                                          {"logprobs", 1}});
  ASSERT_EQ(c->status, 200) << c->body;
  const json cj = json::parse(c->body);
  EXPECT_EQ(cj["object"], "text_completion");
  EXPECT_EQ(cj["choices"][0]["logprobs"]["tokens"].size(),
            cj["choices"][0]["logprobs"]["token_logprobs"].size());
  // tokenize / detokenize round trip.
  const json ids = json::parse(post("/tokenize", {{"prompt", "hello"}})->body)["tokens"];
  EXPECT_EQ(json::parse(post("/detokenize", {{"tokens", ids}})->body)["prompt"], "hello");
}

TEST_F(ServerTest, BadRequestsGetOpenAIErrors) {
  start();
  struct Case {
    std::string body;
    int status;
    std::string param, code;
  };
  const std::string long_text(3000, 'x');
  const std::vector<Case> cases = {
      {"{\"messages\": [", 400, "", "invalid_json"},
      {"[1, 2]", 400, "", "invalid_json"},
      {std::string(100, '[') + std::string(100, ']'), 400, "", "invalid_json"},
      {R"({"messages": []})", 400, "messages", "invalid_value"},
      {R"({"messages": [{"role": "user", "content": 3}]})", 400, "messages", "invalid_value"},
      {R"({"messages": [{"role": "wizard", "content": "x"}]})", 400, "messages", "invalid_value"},
      {R"({"messages": [{"role": "user", "content": "x"}], "temperature": "hot"})", 400, "temperature", "invalid_value"},
      {R"({"messages": [{"role": "user", "content": "x"}], "temperature": 9})", 400, "temperature", "invalid_value"},
      {R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0})", 400, "max_tokens", "invalid_value"},
      {R"({"messages": [{"role": "user", "content": "x"}], "n": 99})", 400, "n", "invalid_value"},
      {R"({"messages": [{"role": "user", "content": "x"}], "top_logprobs": 3})", 400, "top_logprobs", "invalid_value"},
      {R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 100000})", 400, "max_tokens", "context_length_exceeded"},
      {"{\"messages\": [{\"role\": \"user\", \"content\": \"" + long_text + "\"}]}", 400, "messages", "context_length_exceeded"},
      {R"({"model": "gpt-4", "messages": [{"role": "user", "content": "x"}]})", 404, "model", "model_not_found"},
  };
  for (const Case& c : cases) {
    const auto r = client_->Post("/v1/chat/completions", c.body, "application/json");
    ASSERT_TRUE(r) << c.body;
    EXPECT_EQ(r->status, c.status) << c.body << " -> " << r->body;
    const json e = json::parse(r->body)["error"];
    EXPECT_FALSE(e["message"].get<std::string>().empty());
    EXPECT_EQ(e["param"], c.param.empty() ? json(nullptr) : json(c.param)) << c.body;
    EXPECT_EQ(e["code"], c.code) << c.body;
  }
  EXPECT_EQ(client_->Get("/v1/nothing")->status, 404);
  EXPECT_EQ(client_->Get("/../../etc/passwd")->status, 404);
  EXPECT_EQ(client_->Get("/%2e%2e/%2e%2e/etc/passwd")->status, 404);
  EXPECT_EQ(client_->Get("/index.html/../../../etc/passwd")->status, 404);
  EXPECT_EQ(client_->Get("/")->status, 200);
  EXPECT_NE(client_->Get("/")->body.find("<title>tandem chat</title>"), std::string::npos);
}

TEST_F(ServerTest, ApiKeyAndBodyLimit) {
  ServerConfig cfg;
  cfg.api_key = "sesame";
  cfg.max_body_bytes = 4096;
  start(cfg);
  auto r = post("/v1/chat/completions", chat("hi"));
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(json::parse(r->body)["error"]["type"], "authentication_error");
  EXPECT_EQ(post("/v1/chat/completions", chat("hi"), {{"Authorization", "Bearer wrong"}})->status, 401);
  EXPECT_EQ(client_->Get("/v1/models")->status, 401);
  EXPECT_EQ(client_->Get("/metrics")->status, 401);
  EXPECT_EQ(client_->Get("/health")->status, 200);  // probes and the page need no key
  EXPECT_EQ(client_->Get("/")->status, 200);
  EXPECT_EQ(post("/v1/chat/completions", chat("hi"), {{"Authorization", "Bearer sesame"}})->status, 200);
  const auto big = client_->Post("/v1/chat/completions", {{"Authorization", "Bearer sesame"}},
                                 std::string(10000, ' '), "application/json");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(json::parse(big->body)["error"]["code"], "request_too_large");
}

// More clients than slots + queue: the excess is told to retry (429 + Retry-After) at once,
// every admitted request completes, nothing is reset.
TEST_F(ServerTest, OverloadAnswers429AndAdmittedComplete) {
  ServerConfig cfg;
  cfg.slots = 1;
  cfg.queue = 2;
  start(cfg);
  std::atomic<int> ok{0}, busy{0}, other{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 12; ++i)
    clients.emplace_back([&, i] {
      httplib::Client c("127.0.0.1", server_->port());
      c.set_read_timeout(60, 0);
      const auto r = c.Post("/v1/chat/completions", chat("count", {{"max_tokens", 60}, {"seed", i}}).dump(),
                            "application/json");
      if (!r) ++other;
      else if (r->status == 200) ++ok;
      else if (r->status == 429 && r->get_header_value("Retry-After") == "1") ++busy;
      else ++other;
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(other, 0) << "resets or unexpected statuses";
  EXPECT_GE(ok, 3);
  EXPECT_GE(busy, 1);
  EXPECT_EQ(ok + busy, 12);
  const std::string metrics = client_->Get("/metrics")->body;
  EXPECT_NE(metrics.find("tandem_requests_rejected_total{reason=\"queue_full\"} " + std::to_string(busy.load())),
            std::string::npos) << metrics;
}

// A streaming client that goes away frees its slot: the metrics say so within a second. The
// answer is long (no EOS, 900 tokens) so it cannot finish before the client hangs up.
TEST_F(ServerTest, DisconnectedStreamFreesItsSlot) {
  ServerConfig cfg;
  cfg.slots = 1;
  start(cfg);
  std::atomic<int> seen{0};
  {
    httplib::Client c("127.0.0.1", server_->port());
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/chat/completions";
    req.body = chat("go", {{"stream", true}, {"max_tokens", 900}, {"ignore_eos", true}, {"temperature", 1}}).dump();
    req.set_header("Content-Type", "application/json");
    req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) { return ++seen < 3; };
    c.send(req);  // the receiver returns false after 3 pieces: the client hangs up
  }
  EXPECT_GE(seen, 3);
  bool freed = false;
  for (int i = 0; i < 50 && !freed; ++i) {
    const std::string m = client_->Get("/metrics")->body;
    freed = m.find("tandem_busy_slots 0") != std::string::npos &&
            m.find("tandem_requests_cancelled_total 1") != std::string::npos;
    if (!freed) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(freed) << client_->Get("/metrics")->body;
  // The slot serves the next request.
  EXPECT_EQ(post("/v1/chat/completions", chat("again"))->status, 200);
}

// Shutdown lets an in-flight request finish (all 900 tokens, long enough to be seen in flight),
// and while it drains, refuses new requests with 503 + Retry-After.
TEST_F(ServerTest, ShutdownDrainsInFlightRequests) {
  start();
  std::atomic<int> status{0};
  json answer;
  std::thread t([&] {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(60, 0);
    const auto r = c.Post("/v1/chat/completions",
                          chat("long", {{"max_tokens", 900}, {"ignore_eos", true}, {"temperature", 1}}).dump(),
                          "application/json");
    status = r ? r->status : -1;
    if (r) answer = json::parse(r->body);
  });
  bool in_flight = false;
  for (int i = 0; i < 400 && !in_flight; ++i) {
    in_flight = client_->Get("/metrics")->body.find("tandem_sequences_in_flight 1") != std::string::npos;
    if (!in_flight) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(in_flight);
  std::thread stopper([&] { server_->shutdown(); });
  bool refused = false;
  for (int i = 0; i < 400 && !refused; ++i) {
    const auto r = post("/v1/chat/completions", chat("late"));
    refused = r && r->status == 503 && r->get_header_value("Retry-After") == "1" &&
              json::parse(r->body)["error"]["code"] == "shutting_down";
  }
  stopper.join();
  t.join();
  EXPECT_TRUE(refused) << "no 503 while draining";
  ASSERT_EQ(status, 200);
  EXPECT_EQ(answer["usage"]["completion_tokens"], 900);
}

}  // namespace
}  // namespace tandem::serve
