#pragma once
// The generation engine: one request queue feeding one step loop over a Decoder's slots
// (continuous batching: a sequence joins a free slot between decode steps and leaves as soon as it
// stops). Everything that generates text goes through it: `tandem generate`, evaluation, GRPO
// rollouts and the HTTP server. Stop tokens and strings, the text of a completion and streaming
// are handled here and nowhere else.
//
// Threads: submit(), cancel() and the counters may be called from any thread; step() and the
// request callbacks run on one thread, the engine's.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "tandem/engine/request.h"
#include "tandem/engine/text_stream.h"
#include "tandem/model/decoder.h"
#include "tandem/tokenizer/tokenizer.h"

namespace tandem {

struct EngineConfig {
  // Prompt tokens prefilled per step, over all slots. 0: a request's whole prompt is prefilled
  // when it takes a slot (batch work: generate, evaluation, rollouts). A server sets a budget
  // (e.g. 256) so a long prompt is prefilled in chunks between decode steps instead of stalling
  // every running stream for its whole length.
  int prefill_chunk = 0;
  // A request whose prompt equals one a running slot was prefilled with copies that slot's KV
  // cache and first-token logits instead of computing them again: the same bits, G times less
  // prefill for GRPO's groups and for n > 1 choices.
  bool reuse_prompts = true;
};

class Engine {
 public:
  using Id = uint64_t;
  // tokenizer (optional) gives completions their text and makes stop strings possible.
  explicit Engine(Decoder& decoder, const Tokenizer* tokenizer = nullptr, EngineConfig config = {});

  // Queues a request. Throws tandem::Error, before queuing, for a prompt that is empty, holds a
  // token outside the vocabulary or leaves no room in a slot, and for stop strings without a
  // tokenizer.
  Id submit(Request request);
  // The request ends at the next step with Finish::Cancelled (queued or running); unknown or
  // finished ids are ignored.
  void cancel(Id id);
  void cancel_all();  // every queued and running request (a server shutting down)

  // One round: admits queued requests into free slots (prefill and first token), then one decode
  // step for every running sequence. Returns false when nothing is queued or running.
  bool step();
  void run_until_idle();
  // Blocks until a request is queued or wake() is called (a server's loop waits here when idle).
  void wait_for_work();
  void wake();
  // The model's weights were replaced between two steps (a server taking a trainer's update;
  // engine thread only). Prompts part-way through a chunked prefill start again, and no cache
  // computed before is copied for a new request, so every prompt is computed under one set of
  // weights. Sequences already decoding continue: their tokens from now on are the new weights'.
  void weights_changed();

  int slots() const { return decoder_.slots(); }
  int max_len() const { return decoder_.max_len(); }
  size_t queued() const { return queued_.load(); }  // submitted, not yet in a slot
  int running() const { return running_.load(); }   // slots busy (prefilling or decoding)
  // Work done so far, for metrics: decode steps, the sequences they advanced (rows / steps is the
  // mean batch), prompt tokens prefilled, and the seconds step() spent working.
  struct Counters {
    uint64_t decode_steps = 0, decode_rows = 0, prefill_tokens = 0;
    double busy_seconds = 0;
  };
  Counters counters() const;

 private:
  struct Active {
    Id id = 0;
    Request request;
    Completion completion;
    std::optional<TextStream> text;
    int32_t next = 0;      // the token fed at the next decode
    int prefilled = -1;    // prompt tokens in the slot's cache; -1: not yet in a slot
    std::vector<float> first_logits;  // what the prompt predicts (kept for prompt reuse)
    uint64_t weights_epoch = 0;       // the weights its prompt was computed under
    bool prefilling() const { return prefilled < int(request.prompt.size()); }
  };
  void take_inbox();
  void admit(int slot);
  bool start(int slot, Active a);            // prefill in one go (no budget); false: done at once
  bool reuse_prompt(int slot, Active& a);    // copies a running slot's identical prompt
  void prefill_chunks();                     // the step's prompt-token budget
  void release(int slot);
  bool accept(int slot, std::span<const float> logits);  // false when the sequence is done
  void finish(Active& a, Completion::Finish why);

  Decoder& decoder_;
  const Tokenizer* tok_;
  EngineConfig cfg_;
  std::vector<std::optional<Active>> slot_;  // the sequence each slot holds
  std::deque<Active> queue_;                 // admitted in order
  std::vector<float> logits_;                // (slots, V) host copy of the last decode
  uint64_t weights_epoch_ = 0;               // weights_changed() calls so far

  std::mutex mutex_;  // guards inbox_, cancels_, next_id_
  std::condition_variable work_;
  std::vector<Active> inbox_;
  std::vector<Id> cancels_;
  bool cancel_everything_ = false;
  Id next_id_ = 1;
  bool woken_ = false;
  std::atomic<size_t> queued_{0};
  std::atomic<int> running_{0};
  mutable std::mutex counters_mutex_;
  Counters counters_;
};

}  // namespace tandem
