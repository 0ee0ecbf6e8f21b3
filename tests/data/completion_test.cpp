// The envelope reader shared by all tasks, and canonical integers.
#include "tandem/data/tasks/completion.h"

#include <gtest/gtest.h>

#include <string>

namespace tandem::tasks {
namespace {

Envelope parse(const std::string& s) {
  return parse_envelope(s);
}

TEST(Envelope, AcceptsTheCanonicalFormAndOneTrailingNewline) {
  const std::string c = format_completion("7+5+0=12\n4+8+1=13", "132");
  EXPECT_EQ(c, "<think>\n7+5+0=12\n4+8+1=13\n</think>\nAnswer: 132");
  for (const std::string& s : {c, c + "\n"}) {
    const Envelope e = parse(s);
    ASSERT_TRUE(e.ok) << e.reason;
    EXPECT_EQ(e.steps, "7+5+0=12\n4+8+1=13");
    EXPECT_EQ(e.answer, "132");
  }
  // An empty scratchpad line is still the format.
  EXPECT_TRUE(parse("<think>\n\n</think>\nAnswer: 1").ok);
}

TEST(Envelope, RejectsEveryDeviation) {
  const std::string good = "<think>\nx\n</think>\nAnswer: 5";
  const struct {
    std::string text;
    std::string why;  // a fragment of the expected reason
  } cases[] = {
      {"", "empty"},
      {"Answer: 5", "start with"},
      {"<think>x\n</think>\nAnswer: 5", "start with"},  // no newline after <think>
      {" " + good, "start with"},
      {"\n" + good, "start with"},
      {"<think>\nx\nAnswer: 5", "missing </think>"},
      {"<think>\n<think>\nx\n</think>\nAnswer: 5", "<think> appears more than once"},
      {"<think>\nx\n</think>\n</think>\nAnswer: 5", "</think> appears more than once"},
      {"<think>\n</think>\nAnswer: 5", "start a line"},
      {"<think>\nx</think>\nAnswer: 5", "start a line"},
      {"<think>\nx\n</think>Answer: 5", "followed by a newline"},
      {"<think>\nx\n</think>", "followed by a newline"},
      {"<think>\nx\n</think>\n", "missing \"Answer: \""},
      {"<think>\nx\n</think>\n\nAnswer: 5", "missing \"Answer: \""},
      {"<think>\nAnswer: 5\n</think>\n", "only inside <think>"},
      {"<think>\nAnswer: 5\n</think>\nAnswer: 5", "more than one"},
      {good + "\nAnswer: 5", "more than one"},
      {"<think>\nx\n</think>\nanswer: 5", "missing \"Answer: \""},
      {"<think>\nx\n</think>\nAnswer:5", "missing \"Answer: \""},
      {"<think>\nx\n</think>\nAnswer:  5", "leading or trailing spaces"},
      {good + " ", "leading or trailing spaces"},
      {"<think>\nx\n</think>\nAnswer: ", "empty answer"},
      {"<think>\nx\n</think>\nAnswer: \n", "empty answer"},
      {good + "\n\n", "text after the answer"},
      {good + "\nThe answer is 5", "text after the answer"},
      {good + "\r\n", "not printable ASCII"},
      {good + "\t", "not printable ASCII"},
      {"<think>\n\xc3\xa9\n</think>\nAnswer: 5", "not printable ASCII"},
      {good + std::string(1, '\0'), "not printable ASCII"},
      {"<think>\nx\n</think>\nAnswer: 5\xff\xfe", "not printable ASCII"},
      {"<think>\n" + std::string(9000, 'x') + "\n</think>\nAnswer: 5", "longer than"},
  };
  ASSERT_TRUE(parse(good).ok);
  for (const auto& c : cases) {
    const Envelope e = parse(c.text);
    EXPECT_FALSE(e.ok) << "accepted: " << c.text;
    EXPECT_NE(e.reason.find(c.why), std::string::npos)
        << "for " << testing::PrintToString(c.text) << " got reason: " << e.reason;
  }
}

TEST(CanonicalInt, AcceptsCanonicalIntegers) {
  std::string why;
  EXPECT_EQ(parse_canonical_int("0", &why), 0);
  EXPECT_EQ(parse_canonical_int("132", &why), 132);
  EXPECT_EQ(parse_canonical_int("-38", &why), -38);
  EXPECT_EQ(parse_canonical_int("999999999999999999", &why), 999999999999999999);
  EXPECT_EQ(parse_canonical_int("-999999999999999999", &why), -999999999999999999);
}

TEST(CanonicalInt, RejectsEverythingElse) {
  for (const char* s :
       {"", "-", "+5", "05", "-05", "-0", "00", "1.0", "1e3", "1,000", "12a", "one", "--5", "5-",
        "0x10", "1000000000000000000", "10000000000000000000000000000000000000000"}) {
    std::string why;
    EXPECT_FALSE(parse_canonical_int(s, &why).has_value()) << s;
    EXPECT_FALSE(why.empty()) << s;
  }
}

}  // namespace
}  // namespace tandem::tasks
