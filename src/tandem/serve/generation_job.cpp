#include "tandem/serve/generation_job.h"

#include <fmt/format.h>

#include <random>

#include "tandem/core/clock.h"
#include "tandem/serve/api_error.h"

namespace tandem::serve {

using nlohmann::json;

namespace {
double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string random_id(const char* prefix) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{}{:016x}", prefix, rng());
}

// What ends a completion. A chat turn ends with <|im_end|> (as `tandem generate` and the rollouts
// have it); a text completion at the end of the document or of a turn, or the tokenizer's eos.
std::vector<int32_t> stop_tokens(const Tokenizer& tok, Endpoint endpoint) {
  const int32_t turn_end = tok.find_token("<|im_end|>");
  std::vector<int32_t> candidates = {turn_end >= 0 ? turn_end : tok.eos_id()};
  if (endpoint == Endpoint::Completions)
    candidates.insert(candidates.end(), {tok.eos_id(), tok.find_token("<|endoftext|>")});
  std::vector<int32_t> out;
  for (int32_t id : candidates)
    if (id >= 0 && std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  return out;
}

std::string sse(const json& j) { return "data: " + dump(j) + "\n\n"; }
}  // namespace

std::vector<int32_t> chat_prompt(const Tokenizer& tok, const std::vector<ChatMessage>& messages,
                                 std::optional<bool> enable_thinking) {
  ChatOptions options;
  options.add_generation_prompt = true;
  options.enable_thinking = enable_thinking;
  return tok.encode(render_chat(messages, options));
}

// ---- WeightsVersion ---------------------------------------------------------------------------

std::string WeightsVersion::get() const {
  std::lock_guard lock(mutex_);
  return version_;
}

void WeightsVersion::set(std::string version) {
  std::lock_guard lock(mutex_);
  version_ = std::move(version);
  ++serial_;
}

// ---- Admission ------------------------------------------------------------------------------

void Admission::set_capacity(int64_t capacity) {
  std::lock_guard lock(mutex_);
  capacity_ = capacity;
}

bool Admission::try_admit(int64_t sequences) {
  std::lock_guard lock(mutex_);
  if (in_flight_ + sequences > capacity_) return false;
  in_flight_ += sequences;
  return true;
}

void Admission::release(int64_t sequences) {
  std::lock_guard lock(mutex_);
  in_flight_ -= sequences;
}

int64_t Admission::in_flight() const {
  std::lock_guard lock(mutex_);
  return in_flight_;
}

// ---- GenerationJob --------------------------------------------------------------------------

GenerationJob::GenerationJob(GenerationParams params, const Tokenizer& tok, Engine& engine,
                             Admission& admission, ServerMetrics& metrics,
                             const std::string& model_id, const WeightsVersion& weights)
    : params_(std::move(params)), tok_(tok), engine_(engine), admission_(admission),
      metrics_(metrics), weights_(weights), arrived_(Clock::now()), last_write_(arrived_) {
  const bool chat = params_.endpoint == Endpoint::Chat;
  head_.id = random_id(chat ? "chatcmpl-" : "cmpl-");
  head_.created = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  head_.model = model_id;
  head_.fingerprint = "tandem";
}

void GenerationJob::submit() {
  const bool chat = params_.endpoint == Endpoint::Chat;
  prompt_ = chat ? chat_prompt(tok_, params_.messages, params_.enable_thinking)
                 : !params_.prompt_ids.empty() ? params_.prompt_ids
                                               : tok_.encode(params_.prompt);
  const int ctx = engine_.max_len(), n = int(prompt_.size());
  if (prompt_.empty()) bad_request(chat ? "messages" : "prompt", "the prompt has no tokens");
  for (int32_t id : prompt_)
    if (id >= tok_.vocab_size())
      bad_request("prompt", fmt::format("token id {} is outside the vocabulary [0, {})", id,
                                        tok_.vocab_size()));
  if (n >= ctx)
    bad_request(chat ? "messages" : "prompt",
                fmt::format("the prompt has {} tokens; the context holds {} (prompt and completion)",
                            n, ctx),
                "context_length_exceeded");
  if (params_.max_tokens && n + *params_.max_tokens > ctx)
    bad_request("max_tokens",
                fmt::format("the prompt has {} tokens and max_tokens asks for {}: more than the "
                            "context of {}",
                            n, *params_.max_tokens, ctx),
                "context_length_exceeded");
  max_new_ = params_.max_tokens.value_or(ctx - n);
  if (!admission_.try_admit(params_.n)) {
    metrics_.rejected("queue_full");
    throw ApiError(429, "the server is busy: every slot and queue place is taken; retry shortly",
                   "", "queue_full");
  }
  metrics_.prompt_tokens(n);
  const uint64_t seed = params_.seed.value_or(std::random_device{}() ^ (uint64_t(std::random_device{}()) << 32));
  {
    std::lock_guard lock(mutex_);
    choices_.resize(params_.n);
    for (Choice& c : choices_)
      if (chat) c.splitter.emplace();
  }
  int submitted = 0;
  try {
    for (size_t i = 0; i < size_t(params_.n); ++i, ++submitted) {
      const Engine::Id id = engine_.submit(engine_request(i, seed));
      std::lock_guard lock(mutex_);
      choices_[i].id = id;
    }
  } catch (const Error& e) {
    admission_.release(params_.n - submitted);
    abandon();
    bad_request("prompt", e.what());
  }
}

Request GenerationJob::engine_request(size_t index, uint64_t seed) {
  Request r;
  r.prompt = prompt_;
  r.generation.max_new_tokens = max_new_;
  if (!params_.ignore_eos) r.generation.stop_tokens = stop_tokens(tok_, params_.endpoint);
  for (int32_t id : params_.stop_token_ids) r.generation.stop_tokens.push_back(id);
  r.generation.sampling = {params_.temperature, params_.top_k, params_.top_p, seed};
  // Choice i of a seeded request draws the same numbers every time; `sequence` moves the whole
  // request to other streams (a trainer numbering its rollouts).
  r.sequence = params_.sequence + index;
  r.stop_strings = params_.stop;
  r.top_logprobs = params_.top_logprobs;
  auto self = shared_from_this();
  r.on_token = [self, index](const TokenEvent& ev) { self->on_token(index, ev); };
  r.on_done = [self, index](Completion&& c) { self->on_done(index, std::move(c)); };
  return r;
}

void GenerationJob::on_token(size_t index, const TokenEvent& ev) {
  const auto now = Clock::now();
  metrics_.generated_token();
  // The weights of this token (the engine's thread, where they change): named once per change.
  const uint64_t serial = weights_.serial();
  std::lock_guard lock(mutex_);
  if (serial != versions_serial_) {
    std::string version = weights_.get();
    if (std::find(versions_.begin(), versions_.end(), version) == versions_.end())
      versions_.push_back(std::move(version));
    versions_serial_ = serial;
  }
  Choice& c = choices_[index];
  if (c.first_token) metrics_.time_to_first_token(seconds(now - arrived_));
  else metrics_.inter_token(seconds(now - c.last_token));
  c.first_token = false, c.last_token = now;
  if (params_.stream) {
    Event e{{ev.token, ev.logprob, {ev.top_logprobs.begin(), ev.top_logprobs.end()}},
            std::string(ev.text)};
    c.pending.push_back(std::move(e));
  }
  changed_.notify_all();
}

void GenerationJob::on_done(size_t index, Completion&& done) {
  {
    std::lock_guard lock(mutex_);
    if (done.finish == Completion::Finish::Cancelled) {
      cancelled_ = true;
      metrics_.cancelled();
    }
    choices_[index].done = std::move(done);
    if (++finished_ == choices_.size())
      metrics_.request_seconds(seconds(Clock::now() - arrived_));
    changed_.notify_all();
  }
  admission_.release(1);
}

ChoiceResult GenerationJob::result(const Choice& c) const {
  const Completion& done = *c.done;
  ChoiceResult r;
  r.finish = done.finish;
  if (params_.endpoint == Endpoint::Chat) {
    ReasoningSplitter split;
    ReasoningSplitter::Delta a = split.add(done.text), b = split.finish();
    r.content = a.content + b.content;
    const std::string reasoning = a.reasoning + b.reasoning;
    if (done.text.find("<think>") != std::string::npos) r.reasoning = reasoning;
  } else {
    r.content = done.text;
  }
  if (params_.return_token_ids) r.token_ids = done.tokens;
  if (params_.logprobs)
    for (size_t t = 0; t < done.tokens.size(); ++t)
      r.logprobs.push_back({done.tokens[t], done.logprobs[t],
                            t < done.top_logprobs.size() ? done.top_logprobs[t]
                                                         : std::vector<TokenLogprob>()});
  return r;
}

json GenerationJob::wait_whole() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return finished_ == choices_.size(); });
  if (cancelled_) throw ApiError(503, "the server stopped before the completion finished", "", "shutting_down");
  std::vector<ChoiceResult> results;
  Usage usage{int64_t(prompt_.size()), 0};
  for (const Choice& c : choices_) {
    results.push_back(result(c));
    usage.completion_tokens += int64_t(c.done->tokens.size());
  }
  // The weights that produced the answer; a weight update in the middle lists every version
  // used, so a client that needs one policy (a trainer) can tell.
  ResponseHead head = head_;
  head.weights_version = versions_.empty() ? weights_.get() : versions_.back();
  json out = completion_response(head, params_.endpoint, tok_, results, params_.logprobs, usage);
  if (versions_.size() > 1) out["weights_versions"] = versions_;
  return out;
}

std::vector<std::string> GenerationJob::take_events() {
  std::vector<std::string> out;
  const bool chat = params_.endpoint == Endpoint::Chat;
  if (!versions_.empty()) head_.weights_version = versions_.back();
  for (size_t i = 0; i < choices_.size(); ++i) {
    Choice& c = choices_[i];
    for (Event& e : c.pending) {
      ChunkDelta d;
      d.index = int(i);
      d.role = chat && !c.role_sent;
      c.role_sent = true;
      if (chat) {
        ReasoningSplitter::Delta part = c.splitter->add(e.text);
        d.content = std::move(part.content), d.reasoning = std::move(part.reasoning);
      } else {
        d.content = e.text;
      }
      d.text_offset = c.text_offset;
      c.text_offset += tok_.decode(std::span(&e.logprobs.token, 1)).size();
      if (params_.logprobs) d.logprobs.push_back(std::move(e.logprobs));
      if (d.role || !d.content.empty() || !d.reasoning.empty() || !d.logprobs.empty())
        out.push_back(sse(chunk(head_, params_.endpoint, tok_, d, params_.logprobs)));
    }
    c.pending.clear();
    if (c.done && !c.closed) {
      ChunkDelta d;
      d.index = int(i);
      if (chat) {
        ReasoningSplitter::Delta rest = c.splitter->finish();
        d.content = std::move(rest.content), d.reasoning = std::move(rest.reasoning);
      }
      d.finish = c.done->finish;
      out.push_back(sse(chunk(head_, params_.endpoint, tok_, d, params_.logprobs)));
      c.closed = true;
    }
  }
  return out;
}

bool GenerationJob::all_closed() const {
  for (const Choice& c : choices_)
    if (!c.closed) return false;
  return true;
}

bool GenerationJob::stream(const std::function<bool(const std::string&)>& write,
                           const std::function<void()>& done) {
  std::vector<std::string> events;
  bool finished = false;
  {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, std::chrono::milliseconds(100), [&] {
      if (finished_ == choices_.size()) return true;
      for (const Choice& c : choices_)
        if (!c.pending.empty()) return true;
      return false;
    });
    events = take_events();
    finished = all_closed();
    if (finished && cancelled_)
      events.push_back(sse(ApiError(503, "the server stopped before the completion finished", "",
                                    "shutting_down")
                               .body()));
    if (finished && !cancelled_) {
      if (params_.include_usage) {
        Usage usage{int64_t(prompt_.size()), 0};
        for (const Choice& c : choices_) usage.completion_tokens += int64_t(c.done->tokens.size());
        events.push_back(sse(usage_chunk(head_, params_.endpoint, usage)));
      }
    }
    if (finished) events.push_back("data: [DONE]\n\n");
  }
  for (const std::string& e : events)
    if (!write(e)) return false;
  if (!events.empty()) last_write_ = Clock::now();
  if (finished) {
    ended_ = true;
    done();
    return true;
  }
  // Nothing to say for a while (queued, or a long prefill): a comment line, which clients ignore,
  // is how a client that went away is found.
  if (Clock::now() - last_write_ > std::chrono::seconds(1)) {
    if (!write(": keep-alive\n\n")) return false;
    last_write_ = Clock::now();
  }
  return true;
}

void GenerationJob::abandon() {
  std::vector<Engine::Id> running;
  {
    std::lock_guard lock(mutex_);
    for (const Choice& c : choices_)
      if (c.id != 0 && !c.done) running.push_back(c.id);
  }
  for (Engine::Id id : running) engine_.cancel(id);
}

}  // namespace tandem::serve
