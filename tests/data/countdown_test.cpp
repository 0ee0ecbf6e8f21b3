// Countdown task: generated problems are solvable, and the verifier accepts exactly the valid
// expressions.
#include "tandem/data/tasks/countdown.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "tandem/data/tasks/expression.h"

namespace tandem::tasks {
namespace {

const CountdownTask kTask;

std::string answer_of(const std::string& solution) {
  return solution.substr(solution.find("Answer: ") + 8);
}

TEST(Countdown, GeneratedSolutionsScoreCorrectAndUseEveryNumberOnce) {
  for (int level = 1; level <= kTask.num_levels(); ++level) {
    const size_t count = level <= 2 ? 3 : 4;
    const int64_t hi = level % 2 == 1 ? 9 : 25;
    for (Split split : {Split::Train, Split::Heldout}) {
      for (uint64_t i = 0; i < 3000; ++i) {
        const Problem p = kTask.sample(level, split, 11, i);
        ASSERT_EQ(p.numbers.size(), count);
        for (int64_t x : p.numbers) ASSERT_TRUE(x >= 1 && x <= hi) << p.prompt;
        const int64_t target = std::stoll(p.answer);
        EXPECT_TRUE(target >= 1 && target <= 100) << p.prompt;
        const Score s = kTask.score(p, p.solution);
        ASSERT_TRUE(s.correct) << p.prompt << p.solution << "\n" << s.reason;
        // Checked again here with the expression reader directly, not through the task.
        const Expression e = evaluate_expression(answer_of(p.solution));
        ASSERT_TRUE(e.evaluated) << e.error;
        EXPECT_EQ(e.value, target);
        std::vector<int64_t> used = e.numbers;
        std::sort(used.begin(), used.end());
        EXPECT_EQ(used, p.numbers);
        EXPECT_NE(p.prompt.find("make " + p.answer + "."), std::string::npos) << p.prompt;
        // One step line per combination.
        const std::string steps = p.solution.substr(8, p.solution.find("\n</think>") - 8);
        EXPECT_EQ(size_t(std::count(steps.begin(), steps.end(), '=')), count - 1) << steps;
        EXPECT_LE(p.prompt.size() + p.solution.size(), 128u) << p.prompt << p.solution;
      }
    }
  }
}

// A fixed problem for verifier tests: the numbers 3, 7, 9 (plus an extra 7 below) and target 90.
Problem problem(std::vector<int64_t> numbers, int target) {
  Problem p;
  p.prompt = "test\n";
  p.numbers = std::move(numbers);
  p.answer = std::to_string(target);
  p.level = 1;
  return p;
}

TEST(Countdown, ScoringIsStrict) {
  const Problem p = problem({3, 7, 9}, 90);
  const Problem dup = problem({2, 7, 7}, 49);
  const Problem zero = problem({3, 3, 5}, 5);
  const std::string t = "<think>\n7+3=10\n10*9=90\n</think>\nAnswer: ";
  const struct {
    const Problem& problem;
    std::string completion;
    bool well_formed, correct;
    const char* why;  // fragment of the reason, when not correct
  } cases[] = {
      {p, t + "(7+3)*9", true, true, ""},
      {p, t + "9*(3+7)", true, true, ""},
      {p, t + " (7 + 3) * 9", false, false, "spaces"},
      {p, t + "( 7 + 3 ) * 9", true, true, ""},
      {p, t + "(7+3)*9\n", true, true, ""},
      {p, t + "7+3*9", true, false, "gives 34"},            // wrong value
      {p, t + "(7+3)*9*1", true, false, "exactly once"},    // number not in the list
      {p, t + "(7+7)*9", true, false, "exactly once"},      // 7 used twice, 3 unused
      {p, t + "(7+3)*9+3-3", true, false, "exactly once"},  // 3 used twice
      {p, t + "90", true, false, "exactly once"},           // the target alone
      {p, t + "7*9+3", true, false, "gives 66"},
      {p, t + "9/(7-7)*3", true, false, "exactly once"},
      {zero, t + "5/(3-3)", true, false, "division by zero"},  // all numbers used, but /0
      {p, t + "(7/3)*9*9", true, false, "exactly once"},
      {problem({2, 7, 7}, 49), t + "7/2*7*2", true, false, "exactly once"},
      {problem({2, 7, 14}, 49), t + "7/2*14", true, false, "not exact"},  // 7/2 is 3.5
      {dup, t + "7*7*2/2", true, false, "exactly once"},
      {dup, t + "7*7", true, false, "exactly once"},  // 2 unused
      {dup, t + "7*(7-2)+14", true, false, "exactly once"},
      {p, t + "((7+3)*9", false, false, "missing ')'"},
      {p, t + "(7+3))*9", false, false, "unexpected ')'"},
      {p, t + "-(7+3)*9", false, false, "unexpected '-'"},
      {p, t + "(7+3)x9", false, false, "unexpected 'x'"},
      {p, t + "(7+3)*09", false, false, "leading zero"},
      {p, t + "(7+3)*9=90", false, false, "unexpected '='"},
      {p, t + std::string(20, '(') + "(7+3)*9" + std::string(20, ')'), false, false, "deeper"},
      {p, t + "(7+3)*10000000000000000000000000000000000000000", false, false, "digits"},
      {p, t + "(7+3)*9\nAnswer: 90", false, false, "more than one"},
      {p, t + "(7+3)*9 and that's it", false, false, "unexpected 'a'"},
      {p, "<think>\nAnswer: (7+3)*9\n</think>\n", false, false, "inside <think>"},
      {p, "(7+3)*9", false, false, "start with"},
      {p, "<think>\n7+3=10\nAnswer: (7+3)*9", false, false, "missing </think>"},
      {p,
       t + "(7+3)\xc3\x97"
           "9",
       false, false, "ASCII"},
      {p, "", false, false, "empty"},
  };
  for (const auto& c : cases) {
    const Score s = kTask.score(c.problem, c.completion);
    EXPECT_EQ(s.well_formed, c.well_formed) << testing::PrintToString(c.completion) << s.reason;
    EXPECT_EQ(s.correct, c.correct) << testing::PrintToString(c.completion) << s.reason;
    EXPECT_NE(s.reason.find(c.why), std::string::npos)
        << testing::PrintToString(c.completion) << " reason: " << s.reason;
    EXPECT_DOUBLE_EQ(s.reward, (c.correct ? 1.0 : 0.0) + (c.well_formed ? 0.1 : 0.0));
  }
}

TEST(Countdown, DuplicateNumbersAreAMultiset) {
  const Problem dup = problem({2, 7, 7}, 49);
  const std::string t = "<think>\nx\n</think>\nAnswer: ";
  EXPECT_TRUE(kTask.score(dup, t + "7*7*(2/2)").correct == false);  // 2 used twice
  EXPECT_TRUE(kTask.score(problem({2, 2, 7, 7}, 49), t + "7*7*(2/2)").correct);
  EXPECT_TRUE(kTask.score(problem({2, 7, 7}, 98), t + "7*7*2").correct);
}

}  // namespace
}  // namespace tandem::tasks
