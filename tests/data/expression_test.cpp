// The countdown expression reader: grammar, exact arithmetic, and limits on hostile input.
#include "tandem/data/tasks/expression.h"

#include <gtest/gtest.h>

#include <string>

namespace tandem::tasks {
namespace {

TEST(Expression, PrecedenceAssociativityAndSpaces) {
  const struct {
    const char* text;
    int64_t value;
  } cases[] = {
      {"1+2*3", 7},
      {"(1+2)*3", 9},
      {"8-3-2", 3},
      {"8-(3-2)", 7},
      {"24/4/2", 3},
      {"24/(4/2)", 12},
      {" ( 7 + 3 ) * 9 ", 90},
      {"0", 0},
      {"2*3+4*5", 26},
      {"((((5))))", 5},
      {"100-25*4", 0},
      {"1-2", -1},
      {"6/(1-3)", -3},
      {"7*(2/2)", 7},
  };
  for (const auto& c : cases) {
    const Expression e = evaluate_expression(c.text);
    ASSERT_TRUE(e.parsed) << c.text << ": " << e.error;
    ASSERT_TRUE(e.evaluated) << c.text << ": " << e.error;
    EXPECT_EQ(e.value, c.value) << c.text;
  }
  EXPECT_EQ(evaluate_expression("(7+3)*9").numbers, (std::vector<int64_t>{7, 3, 9}));
}

TEST(Expression, SyntaxErrorsAreNotParsed) {
  for (const char* s : {"",    " ",       "(",   ")",    "(1+2", "1+2)", "1+",      "+1", "-1",
                        "1 2", "1++2",    "()",  "2(3)", "(2)3", "1=1",  "1.5",     "07", "x",
                        "1+a", "1234567", "1e3", "2**3", "1//1", "1+2;", "\xc3\x97"}) {
    const Expression e = evaluate_expression(s);
    EXPECT_FALSE(e.parsed) << s;
    EXPECT_FALSE(e.error.empty()) << s;
  }
}

TEST(Expression, ArithmeticErrorsParseButDoNotEvaluate) {
  for (const char* s : {"5/0", "5/(3-3)", "7/2", "(7/2)*2", "1+7/3*3"}) {
    const Expression e = evaluate_expression(s);
    EXPECT_TRUE(e.parsed) << s << ": " << e.error;
    EXPECT_FALSE(e.evaluated) << s;
    EXPECT_FALSE(e.error.empty()) << s;
  }
  // Overflow is caught, not wrapped: (10^6)^4 = 10^24.
  const Expression big = evaluate_expression("999999*999999*999999*999999");
  EXPECT_TRUE(big.parsed);
  EXPECT_FALSE(big.evaluated);
  EXPECT_NE(big.error.find("overflow"), std::string::npos);
  // INT64_MIN / -1 overflows too: -(2^62) - 2^62 = -2^63, then divided by (0-1).
  const Expression min_div =
      evaluate_expression("(0-524288*524288*524288*32-524288*524288*524288*32)/(0-1)");
  EXPECT_TRUE(min_div.parsed) << min_div.error;
  EXPECT_FALSE(min_div.evaluated);
}

TEST(Expression, HostileInputIsBounded) {
  // Nesting deeper than the limit is refused before recursion can grow.
  std::string deep = std::string(17, '(') + "1" + std::string(17, ')');
  EXPECT_FALSE(evaluate_expression(deep).parsed);
  std::string ok = std::string(16, '(') + "1" + std::string(16, ')');
  EXPECT_TRUE(evaluate_expression(ok).evaluated);
  // Very long and very deep input is rejected on length alone, without recursing.
  const std::string huge = std::string(100000, '(') + "1" + std::string(100000, ')');
  EXPECT_FALSE(evaluate_expression(huge).parsed);
  EXPECT_FALSE(evaluate_expression(std::string(129, '1')).parsed);
  EXPECT_FALSE(evaluate_expression("10000000000000000000000000000000000000000").parsed);
  // With the depth limit set small but the length limit lifted, depth still bounds recursion.
  ExpressionLimits depth_only;
  depth_only.max_length = 1 << 20;
  EXPECT_FALSE(evaluate_expression(huge, depth_only).parsed);
}

}  // namespace
}  // namespace tandem::tasks
