// The server as a trainer's rollout engine (docs/rl-across-engines.md): token-id prompts with
// the trainer's sampling streams and stops give what the in-process engine gives; weights are
// replaced through /admin/weights (authenticated, checked, named by version in every answer);
// --weights rounds as the GGUF export does; and a pool of servers survives one being killed and
// one coming back with its old weights.
#include <gtest/gtest.h>
#include <httplib.h>

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "support/served_model.h"
#include "tandem/backend/backend.h"
#include "tandem/core/error.h"
#include "tandem/data/chat_format.h"
#include "tandem/engine/generate.h"
#include "tandem/io/gguf/model_gguf.h"
#include "tandem/io/model_files.h"
#include "tandem/recipes/model_dir.h"
#include "tandem/serve/rollout_client.h"
#include "tandem/serve/server.h"

namespace tandem::serve {
namespace {

using nlohmann::json;

struct Model : test::ServedModel {
  explicit Model(uint64_t seed = 7) : ServedModel(256, seed) {}
};

std::string weight_bytes(const ModelWeights& m) {
  std::vector<float> p = m.read_params();
  return param_set_bytes(m.layout(), {{"", p.data()}});
}

// What the in-process engine makes of `prompt` (n samples from stream `sequence` on).
std::vector<Completion> local(const ModelWeights& m, const std::vector<int32_t>& prompt, int n,
                              const GenerationConfig& g, uint64_t sequence) {
  Decoder d(m, n, m.config().max_position_embeddings);
  return generate(d, std::vector<std::vector<int32_t>>(size_t(n), prompt), g, sequence);
}

class RolloutServerTest : public ::testing::Test {
 protected:
  std::unique_ptr<Server> start(Model& m, ServerConfig cfg = {}) {
    if (cfg.port == 8080) cfg.port = 0;
    cfg.slots = 4;
    auto s = std::make_unique<Server>(cfg);
    s->start();
    s->attach(m.model, m.tok, "tiny");
    return s;
  }
  static httplib::Client client(const Server& s, const std::string& key = "") {
    httplib::Client c("127.0.0.1", s.port());
    c.set_read_timeout(60, 0);
    if (!key.empty()) c.set_bearer_token_auth(key);
    return c;
  }
};

TEST_F(RolloutServerTest, TokenPromptsWithTheTrainersStreamsAndStops) {
  Model m;
  auto server = start(m);
  const std::vector<int32_t> prompt = chat_prompt_tokens(m.tok, "12+7=\n");
  const int32_t stop = chat_stop_token(m.tok);
  const json body = {{"prompt", prompt},        {"n", 3},          {"max_tokens", 40},
                     {"temperature", 1},        {"seed", 42},      {"sequence", 100},
                     {"stop_token_ids", {stop}}, {"ignore_eos", true}, {"logprobs", 0},
                     {"return_token_ids", true}};
  auto c = client(*server);
  const auto r = c.Post("/v1/completions", body.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  EXPECT_EQ(j["weights_version"], "loaded");
  GenerationConfig g;
  g.max_new_tokens = 40, g.stop_tokens = {stop}, g.sampling = {1.0f, 0, 1.0f, 42};
  const auto want = local(m.model, prompt, 3, g, 100);
  for (int i = 0; i < 3; ++i) {
    const json& ch = j["choices"][i];
    EXPECT_EQ(ch["token_ids"].get<std::vector<int32_t>>(), want[size_t(i)].tokens) << "choice " << i;
    const auto lp = ch["logprobs"]["token_logprobs"].get<std::vector<float>>();
    ASSERT_EQ(lp.size(), want[size_t(i)].logprobs.size());
    // Equal to rounding: the server batches rows differently (bit equality needs the
    // batch-invariant mode, tested with it).
    for (size_t t = 0; t < lp.size(); ++t) EXPECT_NEAR(lp[t], want[size_t(i)].logprobs[t], 1e-4);
    EXPECT_EQ(ch["finish_reason"], want[size_t(i)].finish == Completion::Finish::Stop ? "stop" : "length");
  }
}

TEST_F(RolloutServerTest, AdminWeightsAreAuthenticatedCheckedAndVersioned) {
  Model m, other(99);
  {
    auto closed = start(m);  // no admin key: no weight updates at all
    EXPECT_EQ(client(*closed).Get("/admin/weights")->status, 404);
  }
  ServerConfig cfg;
  cfg.admin_key = "adm";
  cfg.api_key = "user";
  auto server = start(m, cfg);
  EXPECT_EQ(client(*server).Get("/admin/weights")->status, 401);
  EXPECT_EQ(client(*server, "user").Get("/admin/weights")->status, 401) << "the API key is not the admin key";
  auto admin = client(*server, "adm");
  EXPECT_EQ(json::parse(admin.Get("/admin/weights")->body)["weights_version"], "loaded");
  const std::string bytes = weight_bytes(other.model);
  // No version, garbage, a NaN: refused, nothing changes.
  EXPECT_EQ(admin.Post("/admin/weights", bytes, "application/octet-stream")->status, 400);
  auto bad = admin.Post("/admin/weights", {{"X-Weights-Version", "v0"}}, "not safetensors",
                        "application/octet-stream");
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(json::parse(bad->body)["error"]["code"], "invalid_weights");
  std::vector<float> nan_params = other.model.read_params();
  nan_params[5] = std::nanf("");
  bad = admin.Post("/admin/weights", {{"X-Weights-Version", "v0"}},
                   param_set_bytes(other.model.layout(), {{"", nan_params.data()}}),
                   "application/octet-stream");
  EXPECT_EQ(bad->status, 400) << bad->body;
  EXPECT_EQ(json::parse(admin.Get("/admin/weights")->body)["weights_version"], "loaded");
  // The real thing: answered once the engine computes with it.
  const auto ok = admin.Post("/admin/weights", {{"X-Weights-Version", "run-1"}}, bytes,
                             "application/octet-stream");
  ASSERT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(json::parse(ok->body)["bytes"], bytes.size());
  EXPECT_EQ(json::parse(admin.Get("/admin/weights")->body)["weights_version"], "run-1");
  // Answers now come from the new weights, and say so.
  const std::vector<int32_t> prompt = chat_prompt_tokens(m.tok, "3+4=\n");
  auto user = client(*server, "user");
  const auto r = user.Post("/v1/completions",
                           json{{"prompt", prompt}, {"max_tokens", 20}, {"temperature", 0},
                                {"return_token_ids", true}}.dump(),
                           "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  EXPECT_EQ(j["weights_version"], "run-1");
  EXPECT_FALSE(j.contains("weights_versions"));
  GenerationConfig g;
  g.max_new_tokens = 20;
  g.stop_tokens = {chat_stop_token(m.tok), m.tok.eos_id(), m.tok.find_token("<|endoftext|>")};
  g.sampling.temperature = 0;
  EXPECT_EQ(j["choices"][0]["token_ids"].get<std::vector<int32_t>>(),
            local(other.model, prompt, 1, g, 0)[0].tokens);
}

TEST_F(RolloutServerTest, ReducedPrecisionIsTheGgufExportsRounding) {
  for (const auto type : {gguf::TensorType::BF16, gguf::TensorType::Q8_0, gguf::TensorType::Q4_0}) {
    Model m, rounded;
    std::vector<float> p = rounded.model.read_params();
    round_like_gguf(rounded.model.layout(), p.data(), type);
    rounded.model.load_params(p);
    ServerConfig cfg;
    cfg.weights = type;
    auto server = start(m, cfg);
    EXPECT_EQ(m.model.read_params(), p) << "the served weights are the rounded ones";
  }
}

// Two servers; one is killed between steps and one comes back (same port) with its old weights.
TEST_F(RolloutServerTest, PoolRetriesElsewhereAndResyncsARestartedServer) {
  Model trainer, a, b;
  ServerConfig cfg;
  cfg.admin_key = "adm";
  auto sa = start(a, cfg), sb = start(b, cfg);
  const int port_b = sb->port();
  PoolConfig pc;
  pc.urls = {fmt::format("127.0.0.1:{}", sa->port()), fmt::format("http://127.0.0.1:{}", port_b)};
  pc.admin_key = "adm";
  pc.requests_per_server = 2;
  ServerPool pool(pc);
  // The trainer's first policy differs from what the servers loaded.
  std::vector<float> p = trainer.model.read_params();
  for (auto& x : p) x *= 0.9f;
  trainer.model.load_params(p);
  pool.set_weights("t-1", weight_bytes(trainer.model));
  std::vector<SamplePrompt> prompts;
  for (int i = 0; i < 6; ++i)
    prompts.push_back({chat_prompt_tokens(trainer.tok, fmt::format("{}+{}=\n", i, 2 * i)), 4,
                       uint64_t(100 + 4 * i)});
  SampleParams sp;
  sp.seed = 3, sp.max_tokens = 24, sp.stop_token_ids = {chat_stop_token(trainer.tok)};
  auto check = [&](const std::vector<std::vector<Sample>>& got) {
    GenerationConfig g;
    g.max_new_tokens = 24, g.stop_tokens = sp.stop_token_ids, g.sampling = {1.0f, 0, 1.0f, 3};
    ASSERT_EQ(got.size(), prompts.size());
    for (size_t i = 0; i < prompts.size(); ++i) {
      const auto want = local(trainer.model, prompts[i].prompt, 4, g, prompts[i].sequence);
      for (int k = 0; k < 4; ++k) {
        EXPECT_EQ(got[i][size_t(k)].tokens, want[size_t(k)].tokens) << i << "/" << k;
        EXPECT_FALSE(got[i][size_t(k)].stale);
      }
    }
  };
  check(pool.sample(prompts, sp));
  PoolStats st = pool.take_stats();
  EXPECT_EQ(st.syncs, 2);
  EXPECT_EQ(st.servers_up, 2);
  EXPECT_EQ(st.sync_bytes, 2 * int64_t(weight_bytes(trainer.model).size()));
  // B goes away: everything is answered by A.
  sb->shutdown();
  sb.reset();
  check(pool.sample(prompts, sp));
  st = pool.take_stats();
  EXPECT_EQ(st.servers_up, 1);
  EXPECT_EQ(st.syncs, 0);
  EXPECT_FALSE(st.events.empty());
  // B is back on its port with the weights it loaded: found, sent the policy, used.
  Model b2;
  cfg.port = port_b;
  sb = start(b2, cfg);
  check(pool.sample(prompts, sp));
  st = pool.take_stats();
  EXPECT_EQ(st.servers_up, 2);
  EXPECT_EQ(st.syncs, 1);
  EXPECT_EQ(b2.model.read_params(), trainer.model.read_params());
  // No server left: an error, not a partial answer.
  sa->shutdown();
  sb->shutdown();
  EXPECT_THROW(pool.sample(prompts, sp), Error);
}

}  // namespace
}  // namespace tandem::serve
