#include "tandem/engine/engine.h"

#include <algorithm>

#include "tandem/core/clock.h"
#include "tandem/core/error.h"

namespace tandem {

Engine::Engine(Decoder& decoder, const Tokenizer* tokenizer, EngineConfig config)
    : decoder_(decoder), tok_(tokenizer), cfg_(config), slot_(decoder.slots()),
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
  inbox_.push_back({id, std::move(request), {}, {}, 0, -1, {}, 0});
  ++queued_;
  work_.notify_one();
  return id;
}

void Engine::cancel(Id id) {
  std::lock_guard lock(mutex_);
  cancels_.push_back(id);
  work_.notify_one();
}

void Engine::cancel_all() {
  std::lock_guard lock(mutex_);
  cancel_everything_ = true;
  work_.notify_one();
}

void Engine::wait_for_work() {
  std::unique_lock lock(mutex_);
  work_.wait(lock, [&] {
    return !inbox_.empty() || !cancels_.empty() || cancel_everything_ || woken_;
  });
  woken_ = false;
}

void Engine::wake() {
  std::lock_guard lock(mutex_);
  woken_ = true;
  work_.notify_all();
}

void Engine::weights_changed() {
  ++weights_epoch_;
  for (auto& s : slot_)
    if (s && s->prefilling() && s->prefilled > 0) s->prefilled = 0;
}

void Engine::take_inbox() {
  std::vector<Active> arrived;
  std::vector<Id> cancels;
  bool everything = false;
  {
    std::lock_guard lock(mutex_);
    arrived.swap(inbox_);
    cancels.swap(cancels_);
    std::swap(everything, cancel_everything_);
  }
  for (Active& a : arrived) queue_.push_back(std::move(a));
  if (everything) {
    for (const Active& a : queue_) cancels.push_back(a.id);
    for (const auto& s : slot_)
      if (s) cancels.push_back(s->id);
  }
  for (Id id : cancels) {
    for (auto it = queue_.begin(); it != queue_.end(); ++it)
      if (it->id == id) {
        finish(*it, Completion::Finish::Cancelled);
        queue_.erase(it);
        --queued_;
        break;
      }
    for (int s = 0; s < slots(); ++s)
      if (slot_[s] && slot_[s]->id == id) {
        finish(*slot_[s], Completion::Finish::Cancelled);
        release(s);
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
    if (start(slot, std::move(a))) return;
  }
}

// Puts `a` in `slot`. Its prompt is copied from a slot that holds the same one, or prefilled now
// (no budget), or left to prefill_chunks() (a budget); once prefilled it samples its first token.
// Returns false when the request finished on that token.
bool Engine::start(int slot, Active a) {
  slot_[slot] = std::move(a);
  ++running_;
  Active& s = *slot_[slot];
  s.prefilled = 0;
  if (!(cfg_.reuse_prompts && reuse_prompt(slot, s))) {
    if (cfg_.prefill_chunk > 0) return true;
    s.weights_epoch = weights_epoch_;
    s.first_logits = decoder_.prefill(slot, s.request.prompt);
    s.prefilled = int(s.request.prompt.size());
    std::lock_guard lock(counters_mutex_);
    counters_.prefill_tokens += s.request.prompt.size();
  }
  if (accept(slot, s.first_logits)) return true;
  release(slot);
  return false;
}

bool Engine::reuse_prompt(int slot, Active& a) {
  for (int t = 0; t < slots(); ++t) {
    const std::optional<Active>& src = slot_[t];
    if (t == slot || !src || src->prefilling() || src->first_logits.empty() ||
        src->weights_epoch != weights_epoch_ || src->request.prompt != a.request.prompt)
      continue;
    decoder_.copy_prefix(t, slot, int(a.request.prompt.size()));
    a.first_logits = src->first_logits;
    a.weights_epoch = src->weights_epoch;
    a.prefilled = int(a.request.prompt.size());
    return true;
  }
  return false;
}

// At most prefill_chunk prompt tokens this step, oldest request first; a prompt finished here
// samples its first token and joins the next decode.
void Engine::prefill_chunks() {
  std::vector<int> waiting;
  for (int s = 0; s < slots(); ++s)
    if (slot_[s] && slot_[s]->prefilling()) waiting.push_back(s);
  std::sort(waiting.begin(), waiting.end(),
            [&](int a, int b) { return slot_[a]->id < slot_[b]->id; });
  int budget = cfg_.prefill_chunk;
  for (int s : waiting) {
    Active& a = *slot_[s];
    // A prompt an older request of this step has just finished (n choices) is copied, not
    // computed, and costs none of the budget.
    if (a.prefilled == 0 && cfg_.reuse_prompts && reuse_prompt(s, a)) {
      if (!accept(s, a.first_logits)) release(s);
      continue;
    }
    if (budget <= 0) continue;
    const int n = int(a.request.prompt.size()), c = std::min(n - a.prefilled, budget);
    if (a.prefilled == 0) a.weights_epoch = weights_epoch_;
    std::vector<float> logits =
        decoder_.prefill(s, std::span(a.request.prompt).subspan(a.prefilled, c), a.prefilled);
    a.prefilled += c, budget -= c;
    {
      std::lock_guard lock(counters_mutex_);
      counters_.prefill_tokens += c;
    }
    if (a.prefilling()) continue;
    a.first_logits = std::move(logits);
    if (!accept(s, a.first_logits)) release(s);
  }
}

void Engine::release(int slot) {
  slot_[slot].reset();
  --running_;
}

bool Engine::accept(int slot, std::span<const float> logits) {
  Active& a = *slot_[slot];
  const Request& r = a.request;
  Completion& c = a.completion;
  TokenLogprob tok = sample_token(logits, r.generation.sampling, r.sequence, c.tokens.size());
  // Batch-invariant mode: the log-probability by the trainer's kernel (cross-entropy on the
  // device), so a rollout reports the bits the trainer's forward computes for the same token.
  if (decoder_.batch_invariant()) tok.logprob = decoder_.token_logprob(logits, tok.token);
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

Engine::Counters Engine::counters() const {
  std::lock_guard lock(counters_mutex_);
  return counters_;
}

bool Engine::step() {
  const auto start = Clock::now();
  take_inbox();
  for (int s = 0; s < slots(); ++s)
    if (!slot_[s]) admit(s);
  if (cfg_.prefill_chunk > 0) prefill_chunks();
  std::vector<int32_t> next(slots(), 0);
  std::vector<bool> active(slots(), false);
  bool any = false;
  for (int s = 0; s < slots(); ++s)
    if (slot_[s] && !slot_[s]->prefilling()) next[s] = slot_[s]->next, active[s] = any = true;
  if (!any) return running_ > 0 || !queue_.empty();
  decoder_.decode(next, active, logits_.data());
  {
    std::lock_guard lock(counters_mutex_);
    ++counters_.decode_steps;
    counters_.decode_rows += std::count(active.begin(), active.end(), true);
    counters_.busy_seconds += seconds_since(start);
  }
  const size_t V = decoder_.vocab_size();
  for (int s = 0; s < slots(); ++s)
    if (active[s] && !accept(s, std::span<const float>(logits_.data() + s * V, V))) release(s);
  return running_ > 0 || !queue_.empty();
}

void Engine::run_until_idle() {
  while (step()) {
  }
}

}  // namespace tandem
