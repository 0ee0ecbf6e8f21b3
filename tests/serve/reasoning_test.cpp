// Reasoning and answer apart, however the text is cut into streamed pieces.
#include "tandem/serve/reasoning.h"

#include <gtest/gtest.h>

namespace tandem::serve {
namespace {

ReasoningSplitter::Delta split(const std::vector<std::string>& pieces, bool prefilled = false) {
  ReasoningSplitter s(prefilled);
  ReasoningSplitter::Delta all;
  for (const auto& p : pieces) {
    auto d = s.add(p);
    all.reasoning += d.reasoning, all.content += d.content;
  }
  auto d = s.finish();
  all.reasoning += d.reasoning, all.content += d.content;
  return all;
}

TEST(Reasoning, ThinkBlockThenAnswer) {
  const auto d = split({"<think>\n7*6=42\n</think>\n\nAnswer: 42"});
  EXPECT_EQ(d.reasoning, "\n7*6=42\n");
  EXPECT_EQ(d.content, "Answer: 42");
}

TEST(Reasoning, NoThinkBlockIsAllAnswer) {
  EXPECT_EQ(split({"Hello <think> there"}).content, "Hello <think> there");
  EXPECT_EQ(split({"<thin", "g>"}).content, "<thing>");  // a false start is answer text
  EXPECT_EQ(split({"\n\nplain"}).content, "plain");
}

TEST(Reasoning, UnfinishedThinkingStaysReasoning) {
  const auto d = split({"<think>step 1", " step 2 </th"});
  EXPECT_EQ(d.reasoning, "step 1 step 2 </th");
  EXPECT_EQ(d.content, "");
}

TEST(Reasoning, PrefilledThinking) {
  const auto d = split({"a</think>b"}, /*prefilled=*/true);
  EXPECT_EQ(d.reasoning, "a");
  EXPECT_EQ(d.content, "b");
}

// Every two-cut split of a text gives what the whole does: streamed equals non-streamed.
TEST(Reasoning, AnyCutGivesTheSameResult) {
  const std::string text = "<think>\nx</th</think>\n\ny <think> z";
  const auto whole = split({text});
  EXPECT_EQ(whole.reasoning, "\nx</th");
  EXPECT_EQ(whole.content, "y <think> z");
  for (size_t a = 0; a <= text.size(); ++a)
    for (size_t b = a; b <= text.size(); ++b) {
      const auto d = split({text.substr(0, a), text.substr(a, b - a), text.substr(b)});
      ASSERT_EQ(d.reasoning, whole.reasoning) << a << " " << b;
      ASSERT_EQ(d.content, whole.content) << a << " " << b;
    }
}

}  // namespace
}  // namespace tandem::serve
