#include "tandem/serve/rollout_client.h"

#include <fmt/format.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "tandem/core/clock.h"
#include "tandem/core/error.h"
#include "tandem/core/json_text.h"

namespace tandem::serve {

using nlohmann::json;

namespace {
std::string base_url(const std::string& url) {
  return url.find("://") == std::string::npos ? "http://" + url : url;
}

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// How one request ended.
enum class Outcome { Done, Stale, Busy, ServerFailed, Refused };
}  // namespace

struct ServerPool::Impl {
  struct Server {
    std::string url;
    std::string version;  // what it holds, as it last said (under sync_mutex)
    std::mutex sync_mutex;  // one weight push at a time
    bool up = true;         // under the pool's mutex while sampling
    std::atomic<bool> needs_sync{false};  // it answered with other weights: ask again first
  };

  PoolConfig cfg;
  std::vector<std::unique_ptr<Server>> servers;
  std::string version, bytes;  // the current weights

  std::mutex mutex;  // guards stats, and the work state during sample()
  PoolStats stats;

  std::unique_ptr<httplib::Client> client(const Server& s, double timeout) const {
    auto c = std::make_unique<httplib::Client>(base_url(s.url));
    c->set_connection_timeout(2, 0);
    c->set_read_timeout(time_t(timeout), 0);
    c->set_write_timeout(time_t(timeout), 0);
    if (!cfg.admin_key.empty()) c->set_bearer_token_auth(cfg.admin_key);
    return c;
  }
  void event(const Server& s, const std::string& what) {
    std::lock_guard lock(mutex);
    stats.events.push_back(fmt::format("{}: {}", s.url, what));
  }
  bool sync(Server& s);
  void sync_all();
  Outcome request(Server& s, httplib::Client& c, const SamplePrompt& p, const SampleParams& params,
                  std::vector<Sample>& out, std::string& why);
};

// Asks the server what it holds and sends the current weights when it differs. false: the server
// is unreachable or refused them (it is then left out until the next step).
bool ServerPool::Impl::sync(Server& s) {
  std::lock_guard one(s.sync_mutex);
  auto c = client(s, cfg.timeout_seconds);
  c->set_read_timeout(5, 0);
  const auto held = c->Get("/admin/weights");
  if (!held || held->status != 200) {
    event(s, held ? fmt::format("GET /admin/weights answered {}: {}", held->status, held->body)
                  : fmt::format("unreachable ({})", httplib::to_string(held.error())));
    return false;
  }
  s.version = parse_json_text(held->body, /*allow_exceptions=*/false).value("weights_version", "");
  if (s.version == version) return true;
  c->set_read_timeout(time_t(cfg.timeout_seconds), 0);
  const auto r = c->Post("/admin/weights", {{"X-Weights-Version", version}}, bytes,
                         "application/octet-stream");
  if (!r || r->status != 200) {
    event(s, r ? fmt::format("refused weights {}: HTTP {} {}", version, r->status, r->body)
               : fmt::format("lost while sending weights ({})", httplib::to_string(r.error())));
    return false;
  }
  s.version = version;
  std::lock_guard lock(mutex);
  stats.sync_bytes += int64_t(bytes.size());
  stats.syncs += 1;
  return true;
}

void ServerPool::Impl::sync_all() {
  const auto t0 = Clock::now();
  std::vector<std::thread> pushes;
  for (auto& s : servers)
    pushes.emplace_back([this, &s] { s->up = sync(*s); });
  for (auto& t : pushes) t.join();
  std::lock_guard lock(mutex);
  stats.sync_ms += ms_since(t0);
}

Outcome ServerPool::Impl::request(Server& s, httplib::Client& c, const SamplePrompt& p,
                                  const SampleParams& params, std::vector<Sample>& out,
                                  std::string& why) {
  const json body = {{"prompt", p.prompt},
                     {"n", p.n},
                     {"max_tokens", params.max_tokens},
                     {"temperature", params.temperature},
                     {"seed", int64_t(params.seed)},  // the bits of the trainer's seed
                     {"sequence", p.sequence},
                     {"stop_token_ids", params.stop_token_ids},
                     {"ignore_eos", true},  // no server defaults: exactly the trainer's stops
                     {"logprobs", 0},
                     {"return_token_ids", true}};
  httplib::Headers headers;
  if (!cfg.api_key.empty()) headers.emplace("Authorization", "Bearer " + cfg.api_key);
  const auto r = c.Post("/v1/completions", headers, json_text(body), "application/json");
  if (!r) {
    why = fmt::format("request failed ({})", httplib::to_string(r.error()));
    return Outcome::ServerFailed;
  }
  if (r->status == 429) return Outcome::Busy;
  if (r->status >= 500) {
    why = fmt::format("HTTP {}: {}", r->status, r->body);
    return Outcome::ServerFailed;
  }
  if (r->status != 200) {
    why = fmt::format("HTTP {}: {}", r->status, r->body);
    return Outcome::Refused;
  }
  const json j = parse_json_text(r->body, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.contains("choices") || int(j["choices"].size()) != p.n) {
    why = "an answer that is not a completion with n choices";
    return Outcome::ServerFailed;
  }
  const bool fresh = j.value("weights_version", "") == version && !j.contains("weights_versions");
  if (!fresh) s.needs_sync = true;  // resynced before its next request
  if (!fresh && cfg.stale == StalePolicy::Reject) {
    why = fmt::format("answered with weights {} (expected {})", j.value("weights_version", "?"),
                      version);
    return Outcome::Stale;
  }
  out.assign(size_t(p.n), {});
  for (const json& ch : j["choices"]) {
    const size_t i = ch.at("index").get<size_t>();
    if (i >= out.size()) {
      why = "a choice index out of range";
      return Outcome::ServerFailed;
    }
    Sample& smp = out[i];
    smp.tokens = ch.at("token_ids").get<std::vector<int32_t>>();
    for (const json& lp : ch.at("logprobs").at("token_logprobs")) smp.logprobs.push_back(lp.get<float>());
    smp.stopped = ch.at("finish_reason") == "stop";
    smp.stale = !fresh;
    if (smp.tokens.empty() || smp.tokens.size() != smp.logprobs.size()) {
      why = "a choice whose tokens and logprobs differ in number";
      return Outcome::ServerFailed;
    }
  }
  return fresh ? Outcome::Done : Outcome::Stale;
}

ServerPool::ServerPool(PoolConfig config) : impl_(std::make_unique<Impl>()) {
  TANDEM_CHECK(!config.urls.empty(), "a server pool needs at least one server URL");
  TANDEM_CHECK(config.requests_per_server > 0, "requests_per_server must be positive");
  impl_->cfg = std::move(config);
  for (const std::string& u : impl_->cfg.urls) {
    impl_->servers.push_back(std::make_unique<Impl::Server>());
    impl_->servers.back()->url = u;
  }
}

ServerPool::~ServerPool() = default;

void ServerPool::set_weights(std::string version, std::string bytes) {
  impl_->version = std::move(version);
  impl_->bytes = std::move(bytes);
}

std::vector<std::vector<Sample>> ServerPool::sample(const std::vector<SamplePrompt>& prompts,
                                                    const SampleParams& params) {
  Impl& m = *impl_;
  TANDEM_CHECK(!m.version.empty(), "ServerPool::sample before set_weights");
  m.sync_all();
  std::vector<std::vector<Sample>> results(prompts.size());
  // The work: prompt indices not yet answered; workers take from the front, failures go back.
  std::deque<size_t> todo;
  for (size_t i = 0; i < prompts.size(); ++i) todo.push_back(i);
  size_t done = 0;
  int workers_left = 0;
  std::string fatal;
  std::condition_variable changed;
  {
    std::lock_guard lock(m.mutex);
    m.stats.servers_up = 0;
    for (auto& s : m.servers) m.stats.servers_up += s->up;
  }
  auto worker = [&](Impl::Server& s) {
    auto c = m.client(s, m.cfg.timeout_seconds);
    for (;;) {
      size_t i;
      {
        std::unique_lock lock(m.mutex);
        changed.wait(lock, [&] { return !todo.empty() || done == prompts.size() || !fatal.empty() || !s.up; });
        if (todo.empty() || !fatal.empty() || !s.up) break;
        i = todo.front();
        todo.pop_front();
      }
      if (s.needs_sync.exchange(false) && !m.sync(s)) {
        std::lock_guard lock(m.mutex);
        s.up = false;
        todo.push_front(i);
        ++m.stats.retries;
        break;
      }
      std::vector<Sample> out;
      std::string why;
      const Outcome o = m.request(s, *c, prompts[i], params, out, why);
      std::unique_lock lock(m.mutex);
      switch (o) {
        case Outcome::Done:
          results[i] = std::move(out);
          ++done;
          break;
        case Outcome::Stale:
          ++m.stats.stale;
          if (m.cfg.stale == StalePolicy::Keep) {
            results[i] = std::move(out);
            ++done;
          } else {
            todo.push_back(i);
            m.stats.events.push_back(fmt::format("{}: {}; asked again", s.url, why));
          }
          break;
        case Outcome::Busy:
          todo.push_back(i);
          lock.unlock();
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          lock.lock();
          break;
        case Outcome::ServerFailed:
          s.up = false;
          todo.push_front(i);
          ++m.stats.retries;
          m.stats.events.push_back(fmt::format("{}: {}; its prompts go to the other servers", s.url, why));
          break;
        case Outcome::Refused:
          fatal = fmt::format("{}: refused a rollout request: {}", s.url, why);
          break;
      }
      changed.notify_all();
      if (!s.up) break;
    }
    std::lock_guard lock(m.mutex);
    --workers_left;
    changed.notify_all();
  };
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(m.mutex);
    for (auto& s : m.servers)
      if (s->up) workers_left += m.cfg.requests_per_server;
  }
  for (auto& s : m.servers)
    if (s->up)
      for (int k = 0; k < m.cfg.requests_per_server; ++k) threads.emplace_back(worker, std::ref(*s));
  for (auto& t : threads) t.join();
  if (!fatal.empty()) throw Error(fatal);
  if (done < prompts.size()) {
    std::string events;
    for (const std::string& e : m.stats.events) events += "\n  " + e;
    throw Error(fmt::format("no rollout server is left to answer {} of {} prompts:{}",
                            prompts.size() - done, prompts.size(), events));
  }
  return results;
}

PoolStats ServerPool::take_stats() {
  std::lock_guard lock(impl_->mutex);
  PoolStats out = std::move(impl_->stats);
  impl_->stats = {};
  return out;
}

}  // namespace tandem::serve
