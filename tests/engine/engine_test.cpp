// The engine as a server drives it: requests arriving while others run, streamed tokens, stop
// strings, cancellation, and the errors a bad request gets before it is queued.
#include "tandem/engine/engine.h"

#include <gtest/gtest.h>

#include <thread>

#include "tandem/backend/backend.h"
#include "tandem/core/error.h"
#include "tandem/core/rng.h"
#include "tandem/engine/generate.h"
#include "tandem/model/transformer.h"
#include "support/test_models.h"

namespace tandem {
namespace {

using test::random_tokens;

struct Fixture {
  std::unique_ptr<Backend> be = make_backend("cpu");
  ModelWeights model{*be, test::tiny_config()};
  // The tiny model's 37 tokens as a byte tokenizer would see them: 'a'..'z' then digits.
  Tokenizer tok = Tokenizer::bytes_only({});
  Fixture() {
    model.init_random(4);
    auto p = model.read_params();
    for (auto& x : p) x *= 6.0f;  // peaked distributions, so greedy text is not uniform noise
    model.load_params(p);
  }
  Request request(std::vector<int32_t> prompt, int max_new, uint64_t seq = 0) {
    Request r;
    r.prompt = std::move(prompt);
    r.generation.max_new_tokens = max_new;
    r.generation.sampling = {.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .seed = 9};
    r.sequence = seq;
    return r;
  }
};

TEST(Engine, LateArrivalsGetTheSameTokensAsAlone) {
  Fixture f;
  // Reference: each prompt alone in a one-slot engine.
  std::vector<std::vector<int32_t>> prompts = {{1, 2, 3}, {4, 5}, {6}, {7, 8, 9, 10}, {11, 12}};
  std::vector<Completion> alone;
  for (size_t i = 0; i < prompts.size(); ++i) {
    Decoder d(f.model, 1, 40);
    Engine e(d);
    Completion c;
    Request r = f.request(prompts[i], 12, i);
    r.on_done = [&](Completion&& x) { c = std::move(x); };
    e.submit(std::move(r));
    e.run_until_idle();
    alone.push_back(c);
  }
  // Two slots; prompts 2.. arrive while 0 and 1 are mid-generation.
  Decoder d(f.model, 2, 40);
  Engine e(d);
  std::vector<Completion> got(prompts.size());
  std::vector<std::vector<int32_t>> streamed(prompts.size());
  auto submit = [&](size_t i) {
    Request r = f.request(prompts[i], 12, i);
    r.on_token = [&, i](const TokenEvent& ev) { streamed[i].push_back(ev.token); };
    r.on_done = [&, i](Completion&& c) { got[i] = std::move(c); };
    e.submit(std::move(r));
  };
  submit(0), submit(1);
  for (int s = 0; s < 3; ++s) e.step();
  EXPECT_EQ(e.running(), 2);
  for (size_t i = 2; i < prompts.size(); ++i) submit(i);
  EXPECT_EQ(e.queued(), prompts.size() - 2);
  e.run_until_idle();
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(got[i].tokens, alone[i].tokens) << "prompt " << i;
    EXPECT_EQ(streamed[i], got[i].tokens) << "prompt " << i;
  }
  EXPECT_EQ(e.running(), 0);
  EXPECT_EQ(e.queued(), 0u);
}

TEST(Engine, CancelFreesTheSlotForTheQueue) {
  Fixture f;
  Decoder d(f.model, 1, 64);
  Engine e(d);
  std::vector<Completion::Finish> finish(3, Completion::Finish::Length);
  std::vector<size_t> lengths(3);
  std::vector<Engine::Id> ids;
  for (int i = 0; i < 3; ++i) {
    Request r = f.request({1, 2}, 40, i);
    r.on_done = [&, i](Completion&& c) { finish[i] = c.finish, lengths[i] = c.tokens.size(); };
    ids.push_back(e.submit(std::move(r)));
  }
  e.step(), e.step();
  e.cancel(ids[0]);  // running
  e.cancel(ids[2]);  // still queued
  e.step();
  EXPECT_EQ(finish[0], Completion::Finish::Cancelled);
  EXPECT_EQ(finish[2], Completion::Finish::Cancelled);
  EXPECT_EQ(lengths[2], 0u);
  EXPECT_EQ(e.running(), 1);  // request 1 took the freed slot at once
  e.run_until_idle();
  EXPECT_EQ(finish[1], Completion::Finish::Length);
  EXPECT_EQ(lengths[1], 40u);
  e.cancel(ids[1]);  // finished: ignored
  EXPECT_FALSE(e.step());
}

TEST(Engine, StopStringCutsTextAndStreamAddsUp) {
  Fixture f;
  Decoder d(f.model, 1, 64);
  Engine e(d, &f.tok);
  // Greedy text first, then stop at a piece of it.
  auto run = [&](std::vector<std::string> stops) {
    Request r = f.request({3, 1, 4}, 30);
    r.generation.sampling.temperature = 0;
    r.stop_strings = std::move(stops);
    std::string streamed;
    Completion out;
    r.on_token = [&](const TokenEvent& ev) { streamed += ev.text; };
    r.on_done = [&](Completion&& c) { out = std::move(c); };
    e.submit(std::move(r));
    e.run_until_idle();
    EXPECT_EQ(streamed, out.text);
    return out;
  };
  const Completion full = run({});
  ASSERT_GE(full.text.size(), 6u);
  const std::string stop = full.text.substr(3, 2);
  const Completion cut = run({stop});
  EXPECT_EQ(cut.finish, Completion::Finish::Stop);
  EXPECT_EQ(cut.text, full.text.substr(0, full.text.find(stop)));
  EXPECT_LT(cut.tokens.size(), full.tokens.size());
}

TEST(Engine, TopLogprobsAreSortedAndHoldTheGreedyToken) {
  Fixture f;
  Decoder d(f.model, 1, 32);
  Engine e(d);
  Request r = f.request({5, 6}, 5);
  r.generation.sampling.temperature = 0;
  r.top_logprobs = 3;
  Completion out;
  r.on_done = [&](Completion&& c) { out = std::move(c); };
  e.submit(std::move(r));
  e.run_until_idle();
  ASSERT_EQ(out.top_logprobs.size(), out.tokens.size());
  for (size_t t = 0; t < out.tokens.size(); ++t) {
    const auto& top = out.top_logprobs[t];
    ASSERT_EQ(top.size(), 3u);
    EXPECT_EQ(top[0].token, out.tokens[t]);
    EXPECT_FLOAT_EQ(top[0].logprob, out.logprobs[t]);
    EXPECT_GE(top[0].logprob, top[1].logprob);
    EXPECT_GE(top[1].logprob, top[2].logprob);
  }
}

TEST(Engine, BadRequestsFailBeforeQueuing) {
  Fixture f;
  Decoder d(f.model, 1, 8);
  Engine e(d);
  auto expect_error = [&](Request r, const std::string& part) {
    try {
      e.submit(std::move(r));
      FAIL() << "no error; expected one containing: " << part;
    } catch (const Error& err) {
      EXPECT_NE(std::string(err.what()).find(part), std::string::npos) << err.what();
    }
  };
  expect_error(f.request({}, 4), "empty");
  expect_error(f.request({1, 2, 3, 4, 5, 6, 7, 8}, 4), "at most 7");
  expect_error(f.request({1, 37}, 4), "outside the vocabulary");
  Request s = f.request({1}, 4);
  s.stop_strings = {"x"};
  expect_error(std::move(s), "tokenizer");
  EXPECT_EQ(e.queued(), 0u);
  // generate() names the prompt and leaves nothing behind.
  GenerationConfig cfg;
  EXPECT_THROW(generate(e, {{1, 2}, {}}, cfg), Error);
  EXPECT_EQ(e.queued(), 0u);
  EXPECT_FALSE(e.step());
}

TEST(Engine, SubmitFromAnotherThreadWakesTheLoop) {
  Fixture f;
  Decoder d(f.model, 2, 32);
  Engine e(d);
  std::atomic<int> done{0};
  std::thread client([&] {
    for (int i = 0; i < 4; ++i) {
      Request r = f.request({1, 2, 3}, 6, i);
      r.on_done = [&](Completion&&) { ++done; };
      e.submit(std::move(r));
    }
  });
  // The server's loop: step while there is work, sleep until a request arrives.
  while (done < 4)
    if (!e.step() && done < 4) e.wait_for_work();
  client.join();
  EXPECT_EQ(done, 4);
}

// Runs prompts through an engine with `config`; completions in prompt order.
std::vector<Completion> run_all(Fixture& f, const std::vector<std::vector<int32_t>>& prompts,
                                int slots, EngineConfig config, int max_new = 10) {
  Decoder d(f.model, slots, 64);
  Engine e(d, nullptr, config);
  std::vector<Completion> out(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    Request r = f.request(prompts[i], max_new, i);
    r.on_done = [&out, i](Completion&& c) { out[i] = std::move(c); };
    e.submit(std::move(r));
  }
  e.run_until_idle();
  return out;
}

// Prefilling a prompt in chunks between decode steps gives the whole prompt's first token and
// continuation (on the CPU, attention rows are computed alike whole or chunked).
TEST(Engine, ChunkedPrefillGivesTheSameCompletions) {
  Fixture f;
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 5; ++i) prompts.push_back(random_tokens(9 + 7 * i, 37, 50 + i));
  const auto whole = run_all(f, prompts, 2, {});
  for (int chunk : {1, 4, 16}) {
    const auto chunked = run_all(f, prompts, 2, {.prefill_chunk = chunk});
    for (size_t i = 0; i < prompts.size(); ++i) {
      EXPECT_EQ(chunked[i].tokens, whole[i].tokens) << "chunk " << chunk << " prompt " << i;
      for (size_t t = 0; t < whole[i].logprobs.size(); ++t)
        EXPECT_NEAR(chunked[i].logprobs[t], whole[i].logprobs[t], 1e-4);
    }
  }
}

// A long prompt arriving while a sequence streams is prefilled a chunk per step: the stream
// keeps getting one token per step instead of waiting for the whole prefill.
TEST(Engine, LongPromptDoesNotStallARunningStream) {
  Fixture f;
  Decoder d(f.model, 2, 64);
  Engine e(d, nullptr, {.prefill_chunk = 4});
  int streamed = 0, long_tokens = 0;
  Request r = f.request({1, 2}, 40, 0);
  r.on_token = [&](const TokenEvent&) { ++streamed; };
  e.submit(std::move(r));
  e.step(), e.step();
  Request big = f.request(random_tokens(40, 37, 3), 5, 1);
  big.on_token = [&](const TokenEvent&) { ++long_tokens; };
  e.submit(std::move(big));
  for (int step = 0; step < 10; ++step) {  // 40 prompt tokens at 4 per step
    const int before = streamed;
    e.step();
    EXPECT_EQ(streamed, before + 1) << "step " << step;
    // The last chunk's logits give the first token, and the same step's decode the second.
    EXPECT_EQ(long_tokens, step < 9 ? 0 : 2) << "step " << step;
  }
}

// GRPO's groups and n > 1 choices share a prompt: copying its cache gives the very bits of
// prefilling it again.
TEST(Engine, ReusedPromptGivesTheSameBits) {
  Fixture f;
  const std::vector<int32_t> p = random_tokens(12, 37, 8);
  const std::vector<std::vector<int32_t>> prompts(6, p);
  const auto reused = run_all(f, prompts, 4, {.reuse_prompts = true});
  const auto fresh = run_all(f, prompts, 4, {.reuse_prompts = false});
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(reused[i].tokens, fresh[i].tokens) << i;
    EXPECT_EQ(reused[i].logprobs, fresh[i].logprobs) << i;
  }
  // Prefilled in chunks under a shared budget (a server), the copies hold the first prompt's
  // bits, while a prompt computed again is cut at other places; OpenBLAS's GEMM rounds a row
  // differently with the number of rows beside it, so the two agree to float precision only.
  const auto reused_chunked = run_all(f, prompts, 4, {.prefill_chunk = 5, .reuse_prompts = true});
  const auto fresh_chunked = run_all(f, prompts, 4, {.prefill_chunk = 5, .reuse_prompts = false});
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(reused_chunked[i].tokens, fresh_chunked[i].tokens) << i;
    for (size_t t = 0; t < fresh_chunked[i].logprobs.size(); ++t)
      EXPECT_NEAR(reused_chunked[i].logprobs[t], fresh_chunked[i].logprobs[t], 1e-4) << i;
  }
}

TEST(Engine, CancelAllEndsQueuedAndRunning) {
  Fixture f;
  Decoder d(f.model, 2, 64);
  Engine e(d);
  int cancelled = 0;
  for (int i = 0; i < 5; ++i) {
    Request r = f.request({1, 2, 3}, 50, i);
    r.on_done = [&](Completion&& c) { cancelled += c.finish == Completion::Finish::Cancelled; };
    e.submit(std::move(r));
  }
  e.step();
  e.cancel_all();
  EXPECT_FALSE(e.step());
  EXPECT_EQ(cancelled, 5);
  EXPECT_EQ(e.running(), 0);
}

}  // namespace
}  // namespace tandem
