// Request bodies: what each field becomes, and the 400 each bad one gets (naming the field).
#include "tandem/serve/openai_request.h"

#include <gtest/gtest.h>

#include "tandem/serve/api_error.h"

namespace tandem::serve {
namespace {

GenerationParams chat(const std::string& body) {
  return parse_generation_request(body, Endpoint::Chat);
}

void expect_400(const std::string& body, Endpoint endpoint, const std::string& param) {
  try {
    parse_generation_request(body, endpoint);
    FAIL() << "accepted: " << body;
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400) << body;
    EXPECT_EQ(e.param(), param) << body << ": " << e.what();
  }
}

TEST(OpenAIRequest, ChatFieldsAndDefaults) {
  const auto p = chat(R"({"model": "m", "messages": [{"role": "developer", "content": "be brief"},
    {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}],
    "max_completion_tokens": 7, "temperature": 0, "top_p": 0.5, "top_k": 3, "seed": 42,
    "stop": "END", "n": 2, "stream": true, "stream_options": {"include_usage": true},
    "logprobs": true, "top_logprobs": 4, "chat_template_kwargs": {"enable_thinking": false},
    "some_future_field": {"x": 1}})");
  EXPECT_EQ(p.model, "m");
  ASSERT_EQ(p.messages.size(), 2u);
  EXPECT_EQ(p.messages[0].role, "system");
  EXPECT_EQ(p.messages[1].content, "ab");
  EXPECT_EQ(p.max_tokens, 7);
  EXPECT_EQ(p.temperature, 0.0f);
  EXPECT_EQ(p.top_p, 0.5f);
  EXPECT_EQ(p.top_k, 3);
  EXPECT_EQ(p.seed, 42u);
  EXPECT_EQ(p.stop, std::vector<std::string>{"END"});
  EXPECT_EQ(p.n, 2);
  EXPECT_TRUE(p.stream && p.include_usage && p.logprobs);
  EXPECT_EQ(p.top_logprobs, 4);
  EXPECT_EQ(p.enable_thinking, false);
  const auto d = chat(R"({"messages": [{"role": "user", "content": "x"}]})");
  EXPECT_EQ(d.temperature, 1.0f);  // OpenAI's default
  EXPECT_FALSE(d.max_tokens.has_value());
  EXPECT_FALSE(d.seed.has_value());
  EXPECT_FALSE(d.enable_thinking.has_value());
}

TEST(OpenAIRequest, CompletionPrompts) {
  auto p = parse_generation_request(R"({"prompt": "12+7=", "logprobs": 2})", Endpoint::Completions);
  EXPECT_EQ(p.prompt, "12+7=");
  EXPECT_TRUE(p.logprobs);
  EXPECT_EQ(p.top_logprobs, 2);
  p = parse_generation_request(R"({"prompt": [1, 2, 3]})", Endpoint::Completions);
  EXPECT_EQ(p.prompt_ids, (std::vector<int32_t>{1, 2, 3}));
  p = parse_generation_request(R"({"prompt": ["one"]})", Endpoint::Completions);
  EXPECT_EQ(p.prompt, "one");
}

TEST(OpenAIRequest, BadFieldsNameThemselves) {
  const std::string m = R"("messages": [{"role": "user", "content": "x"}])";
  expect_400("not json", Endpoint::Chat, "");
  expect_400("{}", Endpoint::Chat, "messages");
  expect_400(R"({"messages": "hi"})", Endpoint::Chat, "messages");
  expect_400(R"({"messages": [{"content": "x"}]})", Endpoint::Chat, "messages");
  expect_400(R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})", Endpoint::Chat, "messages");
  expect_400("{" + m + R"(, "model": 3})", Endpoint::Chat, "model");
  expect_400("{" + m + R"(, "temperature": -1})", Endpoint::Chat, "temperature");
  expect_400("{" + m + R"(, "top_p": 0})", Endpoint::Chat, "top_p");
  expect_400("{" + m + R"(, "top_k": -1})", Endpoint::Chat, "top_k");
  expect_400("{" + m + R"(, "max_tokens": 1.5})", Endpoint::Chat, "max_tokens");
  expect_400("{" + m + R"(, "seed": "x"})", Endpoint::Chat, "seed");
  expect_400("{" + m + R"(, "stop": [1]})", Endpoint::Chat, "stop");
  expect_400("{" + m + R"(, "stop": [""]})", Endpoint::Chat, "stop");
  expect_400("{" + m + R"(, "n": 0})", Endpoint::Chat, "n");
  expect_400("{" + m + R"(, "stream": "yes"})", Endpoint::Chat, "stream");
  expect_400("{" + m + R"(, "stream_options": 1})", Endpoint::Chat, "stream_options");
  expect_400("{" + m + R"(, "logprobs": 1})", Endpoint::Chat, "logprobs");
  expect_400("{" + m + R"(, "top_logprobs": 21, "logprobs": true})", Endpoint::Chat, "top_logprobs");
  expect_400("{" + m + R"(, "chat_template_kwargs": {"enable_thinking": "no"}})", Endpoint::Chat, "enable_thinking");
  expect_400(R"({"prompt": 5})", Endpoint::Completions, "prompt");
  expect_400(R"({"prompt": ""})", Endpoint::Completions, "prompt");
  expect_400(R"({"prompt": [1, "x"]})", Endpoint::Completions, "prompt");
  expect_400(R"({"prompt": [-1]})", Endpoint::Completions, "prompt");
  expect_400(R"({"prompt": "x", "logprobs": 9})", Endpoint::Completions, "logprobs");
  expect_400(std::string(65, '[') + std::string(65, ']'), Endpoint::Chat, "");
}

}  // namespace
}  // namespace tandem::serve
