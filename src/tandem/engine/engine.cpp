#include "tandem/engine/engine.h"

#include <algorithm>

#include "tandem/core/error.h"

namespace tandem {

Engine::Engine(Decoder& decoder, const Tokenizer* tokenizer)
    : decoder_(decoder), tok_(tokenizer), slot_(decoder.slots()),
      logits_(size_t(decoder.slots()) * decoder.vocab_size()) {}

Engine::Id Engine::submit(Request request) {
  const std::vector<int32_t>& prompt = request.prompt;
  TANDEM_CHECK(!prompt.empty(), "[generate] the prompt is empty");
  TANDEM_CHECK(int(prompt.size()) < decoder_.max_len(),
               "[generate] the prompt has {} tokens; a slot holds at most {} with room for one "
               "generated token",
               prompt.size(), decoder_.max_len() - 1);
  for (int32_t t : prompt)
    TANDEM_CHECK(t >= 0 && t < decoder_.vocab_size(),
                 "[generate] prompt token {} is outside the vocabulary [0, {})", t,
                 decoder_.vocab_size());
  TANDEM_CHECK(request.stop_strings.empty() || tok_,
               "[generate] stop strings need an engine with a tokenizer");
  std::lock_guard lock(mutex_);
  const Id id = next_id_++;
  inbox_.push_back({id, std::move(request), {}, {}, 0});
  ++queued_;
  work_.notify_one();
  return id;
}

void Engine::cancel(Id id) {
  std::lock_guard lock(mutex_);
  cancels_.push_back(id);
  work_.notify_one();
}

void Engine::wait_for_work() {
  std::unique_lock lock(mutex_);
  work_.wait(lock, [&] { return !inbox_.empty() || !cancels_.empty() || woken_; });
  woken_ = false;
}

void Engine::wake() {
  std::lock_guard lock(mutex_);
  woken_ = true;
  work_.notify_all();
}

void Engine::take_inbox() {
  std::vector<Active> arrived;
  std::vector<Id> cancels;
  {
    std::lock_guard lock(mutex_);
    arrived.swap(inbox_);
    cancels.swap(cancels_);
  }
  for (Active& a : arrived) queue_.push_back(std::move(a));
  for (Id id : cancels) {
    for (auto it = queue_.begin(); it != queue_.end(); ++it)
      if (it->id == id) {
        finish(*it, Completion::Finish::Cancelled);
        queue_.erase(it);
        --queued_;
        break;
      }
    for (auto& s : slot_)
      if (s && s->id == id) {
        finish(*s, Completion::Finish::Cancelled);
        s.reset();
        --running_;
      }
  }
}

// Fills a free slot from the queue. A request that finishes on its first token (a stop token, or
// a one-token limit) leaves the slot free for the next one at once.
void Engine::admit(int slot) {
  while (!queue_.empty()) {
    Active a = std::move(queue_.front());
    queue_.pop_front();
    --queued_;
    if (tok_) a.text.emplace(a.request.stop_strings);
    if (a.request.generation.max_new_tokens <= 0) {
      finish(a, Completion::Finish::Length);
      continue;
    }
    const std::vector<float> first = decoder_.prefill(slot, a.request.prompt);
    slot_[slot] = std::move(a);
    ++running_;
    if (accept(slot, first)) return;
    slot_[slot].reset();
    --running_;
  }
}

bool Engine::accept(int slot, std::span<const float> logits) {
  Active& a = *slot_[slot];
  const Request& r = a.request;
  Completion& c = a.completion;
  const TokenLogprob tok = sample_token(logits, r.generation.sampling, r.sequence, c.tokens.size());
  c.tokens.push_back(tok.token);
  c.logprobs.push_back(tok.logprob);
  if (r.top_logprobs > 0) c.top_logprobs.push_back(top_logprobs(logits, r.top_logprobs));
  const auto& stops = r.generation.stop_tokens;
  const bool stop_token = std::find(stops.begin(), stops.end(), tok.token) != stops.end();
  std::string text;
  // The stop token's own text (e.g. "<|im_end|>") is not part of the completion.
  if (a.text && !stop_token && tok.token < tok_->vocab_size())
    text = a.text->add(tok_->decode(std::span(&tok.token, 1)));
  const bool stop = stop_token || (a.text && a.text->stopped());
  const bool full = int(c.tokens.size()) >= r.generation.max_new_tokens ||
                    decoder_.length(slot) >= decoder_.max_len();
  if ((stop || full) && a.text) text += a.text->finish();
  if (r.on_token)
    r.on_token({tok.token, tok.logprob,
                c.top_logprobs.empty() ? std::span<const TokenLogprob>() : c.top_logprobs.back(),
                text});
  if (!stop && !full) {
    a.next = tok.token;
    return true;
  }
  finish(a, stop ? Completion::Finish::Stop : Completion::Finish::Length);
  return false;
}

void Engine::finish(Active& a, Completion::Finish why) {
  a.completion.finish = why;
  if (a.text) a.completion.text = a.text->text();
  if (a.request.on_done) a.request.on_done(std::move(a.completion));
}

bool Engine::step() {
  take_inbox();
  for (int s = 0; s < slots(); ++s)
    if (!slot_[s]) admit(s);
  if (running_ == 0) return !queue_.empty();
  std::vector<int32_t> next(slots(), 0);
  std::vector<bool> active(slots(), false);
  for (int s = 0; s < slots(); ++s)
    if (slot_[s]) next[s] = slot_[s]->next, active[s] = true;
  decoder_.decode(next, active, logits_.data());
  const size_t V = decoder_.vocab_size();
  for (int s = 0; s < slots(); ++s)
    if (active[s] && !accept(s, std::span<const float>(logits_.data() + s * V, V))) {
      slot_[s].reset();
      --running_;
    }
  return running_ > 0 || !queue_.empty();
}

void Engine::run_until_idle() {
  while (step()) {
  }
}

}  // namespace tandem
