#pragma once
// One generation request on its way through the server: its prompt, the n engine sequences it
// became, and what they produced, handed from the engine's thread (callbacks) to the HTTP thread
// that answers, whole or as a stream of Server-Sent Events.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tandem/engine/engine.h"
#include "tandem/serve/metrics.h"
#include "tandem/serve/openai_request.h"
#include "tandem/serve/openai_response.h"
#include "tandem/serve/reasoning.h"

namespace tandem::serve {

// The chat template applied to a conversation, with the assistant's generation prompt.
std::vector<int32_t> chat_prompt(const Tokenizer& tok, const std::vector<ChatMessage>& messages,
                                 std::optional<bool> enable_thinking);

// The name of the weights the engine computes with ("loaded" until a trainer sends others),
// replaced by the engine's thread between steps; read by the engine's callbacks and by HTTP
// threads. Thread-safe.
class WeightsVersion {
 public:
  std::string get() const;
  void set(std::string version);
  // Counts set() calls: a reader compares it to skip copying a name it already has.
  uint64_t serial() const { return serial_.load(); }

 private:
  mutable std::mutex mutex_;
  std::string version_ = "loaded";
  std::atomic<uint64_t> serial_{0};
};

// The server's bound on work: sequences admitted and not yet finished, against a capacity
// (slots + queue). Thread-safe.
class Admission {
 public:
  void set_capacity(int64_t capacity);
  bool try_admit(int64_t sequences);  // false: full, nothing admitted
  void release(int64_t sequences);    // finished, or admitted but never submitted
  int64_t in_flight() const;

 private:
  mutable std::mutex mutex_;
  int64_t capacity_ = 0, in_flight_ = 0;
};

class GenerationJob : public std::enable_shared_from_this<GenerationJob> {
 public:
  GenerationJob(GenerationParams params, const Tokenizer& tok, Engine& engine,
                Admission& admission, ServerMetrics& metrics, const std::string& model_id,
                const WeightsVersion& weights);

  // Tokenizes and checks the prompt against the context, admits the job (429 when full) and
  // queues its n sequences. Throws ApiError.
  void submit();
  // Blocks until every choice is done; the whole response (503 if the server cancelled it).
  nlohmann::json wait_whole();
  // One round of a streamed response, called by the HTTP thread until it returns false or calls
  // done(): waits briefly for tokens, writes them as SSE events (a comment line now and then
  // while there are none, which finds a client that went away). false: the client is gone.
  bool stream(const std::function<bool(const std::string&)>& write,
              const std::function<void()>& done);
  // The HTTP side is finished with this job (or its client went away): what still runs is
  // cancelled, which frees its slot at the next engine step.
  void abandon();

 private:
  struct Event {  // one token, as the engine reported it
    TokenLogprobs logprobs;
    std::string text;
  };
  struct Choice {
    Engine::Id id = 0;
    std::vector<Event> pending;  // reported, not yet streamed
    std::optional<Completion> done;
    bool closed = false;          // its finish chunk is written
    bool role_sent = false;
    size_t text_offset = 0;
    std::optional<ReasoningSplitter> splitter;  // chat
    std::chrono::steady_clock::time_point last_token;
    bool first_token = true;
  };
  Request engine_request(size_t index, uint64_t seed);
  void on_token(size_t index, const TokenEvent& ev);
  void on_done(size_t index, Completion&& c);
  ChoiceResult result(const Choice& c) const;
  std::vector<std::string> take_events();  // SSE lines for what arrived; caller holds no lock
  bool all_closed() const;

  GenerationParams params_;
  const Tokenizer& tok_;
  Engine& engine_;
  Admission& admission_;
  ServerMetrics& metrics_;
  const WeightsVersion& weights_;
  ResponseHead head_;
  std::vector<int32_t> prompt_;
  int max_new_ = 0;
  std::chrono::steady_clock::time_point arrived_;
  std::chrono::steady_clock::time_point last_write_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Choice> choices_;
  size_t finished_ = 0;
  bool cancelled_ = false;
  std::vector<std::string> versions_;  // the weights its tokens came from, in order of first use
  uint64_t versions_serial_ = UINT64_MAX;  // WeightsVersion::serial() when versions_ was last updated
  bool ended_ = false;  // [DONE] written
};

}  // namespace tandem::serve
