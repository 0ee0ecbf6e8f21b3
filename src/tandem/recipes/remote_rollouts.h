#pragma once
// GRPO's rollouts made by `tandem serve` processes (serve/rollout_client.h) instead of in-process:
// the same prompts, sampling streams and stops as rl/rollout.h, so with batch-invariant kernels
// on both sides the samples and their log-probabilities are the in-process ones bit for bit. The
// policy's weights go to the servers before each step's rollouts, named "<run nonce>-<step>".
#include <cstdint>
#include <vector>

#include "tandem/model/weights.h"
#include "tandem/rl/rollout.h"
#include "tandem/serve/rollout_client.h"

namespace tandem {

class RemoteRollouts {
 public:
  RemoteRollouts(serve::PoolConfig pool, const Tokenizer& tok);

  // The weights the next rollouts must come from: the policy after `updates` updates.
  void publish(const ModelWeights& policy, int64_t updates);
  // Like rl/rollout.h's rollout(): consecutive equal problems become one request with n samples.
  std::vector<Rollout> rollout(const tasks::Task& task, const std::vector<tasks::Problem>& problems,
                               const RolloutConfig& cfg, int max_positions, uint64_t first_sequence);
  serve::PoolStats take_stats() { return pool_.take_stats(); }

 private:
  serve::ServerPool pool_;
  const Tokenizer& tok_;
  std::string nonce_;  // this process's weights are never mistaken for another run's
};

}  // namespace tandem
