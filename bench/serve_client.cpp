// The load generator of bench/serve_load.mjs: CLIENTS threads on loopback, each sending its
// share of the prompts (one per stdin line) one after another as streaming chat completions,
// timing the first token and the gaps between tokens. Native, so that on a small machine the
// clients take as little of the CPU the server shares with them as a client can. Bounded: it
// sends the prompts it was given and stops. Prints one JSON object: tokens, seconds, failures,
// and every time to first token and inter-token gap in seconds.
//
//   serve_client PORT CLIENTS MAX_TOKENS < prompts.txt
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Result {
  bool ok = false;
  int64_t tokens = 0;
  double ttft = -1;
  std::vector<double> gaps;
};

// One streaming request; SSE events are parsed as they arrive.
Result one(httplib::Client& c, const std::string& prompt, int max_tokens) {
  const json body = {{"messages", {{{"role", "user"}, {"content", prompt}}}},
                     {"temperature", 0},
                     {"max_tokens", max_tokens},
                     {"stream", true},
                     {"stream_options", {{"include_usage", true}}}};
  Result r;
  std::string buffer;
  bool done = false;
  const auto start = Clock::now();
  auto last = start;
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/chat/completions";
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    buffer.append(data, n);
    for (size_t cut; (cut = buffer.find("\n\n")) != std::string::npos; buffer.erase(0, cut + 2)) {
      const std::string event = buffer.substr(0, cut);
      if (event.rfind("data: ", 0) != 0) continue;
      if (event == "data: [DONE]") {
        done = true;
        continue;
      }
      const json chunk = json::parse(event.substr(6), nullptr, false);
      if (chunk.is_discarded()) return false;
      if (chunk.contains("usage") && chunk["usage"].is_object())
        r.tokens = chunk["usage"].value("completion_tokens", int64_t(0));
      if (!chunk.contains("choices") || chunk["choices"].empty()) continue;
      const json& d = chunk["choices"][0]["delta"];
      const bool text = (d.contains("content") && !d["content"].get<std::string>().empty()) ||
                        d.contains("reasoning_content");
      if (!text) continue;
      const auto now = Clock::now();
      if (r.ttft < 0) r.ttft = std::chrono::duration<double>(now - start).count();
      else r.gaps.push_back(std::chrono::duration<double>(now - last).count());
      last = now;
    }
    return true;
  };
  const auto res = c.send(req);
  r.ok = res && res->status == 200 && done;
  if (!r.ok)
    std::fprintf(stderr, "serve_client: request failed: %s\n",
                 !res ? httplib::to_string(res.error()).c_str()
                      : ("HTTP " + std::to_string(res->status) + (done ? "" : ", no [DONE]")).c_str());
  return r;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: serve_client PORT CLIENTS MAX_TOKENS < prompts.txt\n");
    return 2;
  }
  const int port = std::atoi(argv[1]), clients = std::atoi(argv[2]), max_tokens = std::atoi(argv[3]);
  std::vector<std::string> prompts;
  for (std::string line; std::getline(std::cin, line);) prompts.push_back(line);
  std::mutex mutex;
  std::vector<double> ttft, gaps;
  int64_t tokens = 0, failed = 0;
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t)
    threads.emplace_back([&, t] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(300, 0);
      c.set_keep_alive(true);  // one connection per client, as real clients pool them
      // Client t sends prompts t, t + CLIENTS, ...: each its own share, in order.
      for (size_t i = size_t(t); i < prompts.size(); i += size_t(clients)) {
        const Result r = one(c, prompts[i], max_tokens);
        std::lock_guard lock(mutex);
        if (!r.ok) {
          ++failed;
          continue;
        }
        tokens += r.tokens;
        ttft.push_back(r.ttft);
        gaps.insert(gaps.end(), r.gaps.begin(), r.gaps.end());
      }
    });
  for (auto& t : threads) t.join();
  const json out = {{"tokens", tokens}, {"seconds", since(start)}, {"failed", failed},
                    {"requests", prompts.size()}, {"ttft", ttft}, {"gaps", gaps}};
  std::printf("%s\n", out.dump().c_str());
  return failed == 0 ? 0 : 1;
}
