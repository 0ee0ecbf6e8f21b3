#pragma once
// The trainer's end of split RL: a pool of `tandem serve` processes that sample completions for
// it, kept on the trainer's weights. Each step the trainer names its weights (a version) and
// hands their bytes; before any prompt goes out, every reachable server is asked which weights it
// holds and sent the new ones when they differ (a server restarted with its old weights is
// caught here). Prompts are spread over the servers; a request that fails (connection lost,
// server killed, 5xx) goes to another server, and a server that failed is probed again at the
// next step. Every answer names the weights that produced it; one made with other weights is
// rejected and asked again, or kept and counted, by policy. The protocol: docs/rl-across-engines.md.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tandem::serve {

// One prompt and how many samples of it (one request with n choices: the server prefills the
// prompt once). Sample i draws from random stream (seed, sequence + i), as in-process rollouts do.
struct SamplePrompt {
  std::vector<int32_t> prompt;
  int n = 1;
  uint64_t sequence = 0;
};

struct SampleParams {
  float temperature = 1.0f;
  uint64_t seed = 0;
  int max_tokens = 1;
  std::vector<int32_t> stop_token_ids;  // the only tokens that end a sample (no server defaults)
};

struct Sample {
  std::vector<int32_t> tokens;  // stop token included, as the engine reports them
  std::vector<float> logprobs;  // the server's, one per token
  bool stopped = false;         // ended on a stop token (else: max_tokens or the context)
  bool stale = false;           // made with other weights than the current ones (kept by policy)
};

enum class StalePolicy { Reject, Keep };

struct PoolConfig {
  std::vector<std::string> urls;  // "http://host:port" (or "host:port")
  std::string admin_key;          // the servers' --admin-key
  std::string api_key;            // the servers' --api-key, when they have one
  int requests_per_server = 8;    // concurrent requests kept at each server
  StalePolicy stale = StalePolicy::Reject;
  double timeout_seconds = 600;   // one request, end to end
};

// What the pool did since the last take_stats().
struct PoolStats {
  int64_t sync_bytes = 0;   // weight bytes sent, all servers
  double sync_ms = 0;       // wall time of the weight pushes (servers in parallel)
  int syncs = 0;            // servers sent new weights
  int retries = 0;          // requests sent again elsewhere
  int stale = 0;            // answers made with other weights (rejected or kept)
  int servers_up = 0;       // servers that took part in the last generate()
  std::vector<std::string> events;  // what went wrong, one line each ("127.0.0.1:8081: ...")
};

class ServerPool {
 public:
  explicit ServerPool(PoolConfig config);
  ~ServerPool();

  // The weights every sample from now on must come from: `bytes` is a float32 safetensors file
  // of the whole model (io/model_files.h param_set_bytes), `version` its unique name.
  void set_weights(std::string version, std::string bytes);
  // Samples every prompt; result[p] holds prompt p's n samples in order. Throws tandem::Error
  // when no server is left that can answer (nothing partial is returned).
  std::vector<std::vector<Sample>> sample(const std::vector<SamplePrompt>& prompts,
                                          const SampleParams& params);
  PoolStats take_stats();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tandem::serve
