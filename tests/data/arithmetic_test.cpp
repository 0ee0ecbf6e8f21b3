// Arithmetic task: pinned worked solutions, every scratchpad line true, strict scoring.
#include "tandem/data/tasks/arithmetic.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "tandem/core/error.h"

namespace tandem::tasks {
namespace {

const ArithmeticTask kTask;

TEST(Arithmetic, WorkedSolutionsArePinned) {
  // These fix the format the model is trained on; change them only on purpose.
  EXPECT_EQ(kTask.make(1, '+', 47, 85).prompt, "What is 47 + 85?\n");
  EXPECT_EQ(kTask.make(1, '+', 47, 85).solution,
            "<think>\n47+85\n7+5+0=12\n4+8+1=13\n</think>\nAnswer: 132");
  EXPECT_EQ(kTask.make(1, '-', 85, 47).solution,
            "<think>\n85-47\n15-7-0=8\n08-4-1=3\n</think>\nAnswer: 38");
  EXPECT_EQ(kTask.make(1, '-', 47, 85).solution,
            "<think>\n-(85-47)\n15-7-0=8\n08-4-1=3\n</think>\nAnswer: -38");
  EXPECT_EQ(kTask.make(1, '-', 85, 83).solution,
            "<think>\n85-83\n05-3-0=2\n08-8-0=0\n</think>\nAnswer: 2");
  EXPECT_EQ(kTask.make(1, '-', 47, 47).answer, "0");
  EXPECT_EQ(kTask.make(2, '+', 999, 999).solution,
            "<think>\n999+999\n9+9+0=18\n9+9+1=19\n9+9+1=19\n</think>\nAnswer: 1998");
  EXPECT_EQ(kTask.make(3, '*', 347, 8).solution,
            "<think>\n347*8\n7*8+0=56\n4*8+5=37\n3*8+3=27\n</think>\nAnswer: 2776");
  EXPECT_EQ(kTask.make(3, '*', 100, 2).answer, "200");
  EXPECT_EQ(kTask.make(5, '*', 347, 86).solution,
            "<think>\n347*86\n347*6:\n7*6+0=42\n4*6+4=28\n3*6+2=20\n347*8:\n7*8+0=56\n4*8+5=37\n"
            "3*8+3=27\n02082+27760:\n2+0+0=02\n8+6+0=14\n0+7+1=08\n2+7+0=09\n0+2+0=02\n"
            "</think>\nAnswer: 29842");
  EXPECT_EQ(kTask.make(5, '*', 100, 10).answer, "1000");
  EXPECT_EQ(kTask.make(1, '+', 47, 85).numbers, (std::vector<int64_t>{47, 85}));
}

TEST(Arithmetic, MakeRejectsOperandsOutsideTheLevel) {
  EXPECT_THROW(kTask.make(1, '+', 5, 85), Error);
  EXPECT_THROW(kTask.make(1, '+', 100, 85), Error);
  EXPECT_THROW(kTask.make(1, '*', 47, 85), Error);
  EXPECT_THROW(kTask.make(3, '+', 347, 8), Error);
  EXPECT_THROW(kTask.make(3, '*', 47, 8), Error);  // level 3 is 3-digit x 1-digit
  EXPECT_THROW(kTask.make(0, '+', 47, 85), Error);
  EXPECT_THROW(kTask.make(6, '+', 47, 85), Error);
  EXPECT_THROW(kTask.sample(0, Split::Train, 1, 0), Error);
  EXPECT_THROW(kTask.level_name(9), Error);
}

// Evaluates "x+y+z", "x-y-z" or "x*y+z" with * before +/-, independently of the task's code.
long long eval_line(const std::string& lhs) {
  long long total = 0, term = 0;
  char pending = '+';
  size_t i = 0;
  auto flush = [&] { total += pending == '-' ? -term : term; };
  while (i < lhs.size()) {
    long long x = 0;
    if (!isdigit(lhs[i])) ADD_FAILURE() << "bad line " << lhs;
    while (i < lhs.size() && isdigit(lhs[i])) x = x * 10 + (lhs[i++] - '0');
    term = x;
    while (i < lhs.size() && lhs[i] == '*') {
      ++i;
      long long y = 0;
      while (i < lhs.size() && isdigit(lhs[i])) y = y * 10 + (lhs[i++] - '0');
      term *= y;
    }
    flush();
    if (i < lhs.size()) pending = lhs[i++];
  }
  return total;
}

TEST(Arithmetic, EveryScratchpadLineIsTrueAndTheAnswerIsRight) {
  for (int level = 1; level <= kTask.num_levels(); ++level) {
    for (Split split : {Split::Train, Split::Heldout}) {
      for (uint64_t i = 0; i < 3000; ++i) {
        const Problem p = kTask.sample(level, split, 7, i);
        ASSERT_EQ(p.level, level);
        // The answer, recomputed from the prompt alone.
        long long a = 0, b = 0;
        char op = 0;
        ASSERT_EQ(std::sscanf(p.prompt.c_str(), "What is %lld %c %lld?", &a, &op, &b), 3)
            << p.prompt;
        const long long want = op == '+' ? a + b : op == '-' ? a - b : a * b;
        EXPECT_EQ(p.answer, std::to_string(want)) << p.prompt;
        const Score s = kTask.score(p, p.solution);
        ASSERT_TRUE(s.correct) << p.prompt << p.solution << "\n" << s.reason;
        EXPECT_DOUBLE_EQ(s.reward, 1.1);
        // Every "lhs=rhs" line of the scratchpad holds.
        const size_t open = p.solution.find('\n') + 1, close = p.solution.find("\n</think>");
        const std::string steps = p.solution.substr(open, close - open);
        size_t start = 0;
        while (start <= steps.size()) {
          size_t end = steps.find('\n', start);
          if (end == std::string::npos) end = steps.size();
          const std::string line = steps.substr(start, end - start);
          const size_t eq = line.find('=');
          if (eq != std::string::npos) {
            EXPECT_EQ(eval_line(line.substr(0, eq)), std::stoll(line.substr(eq + 1)))
                << line << " in\n"
                << p.solution;
          }
          start = end + 1;
        }
      }
    }
  }
}

TEST(Arithmetic, LengthsFitTheContextBudget) {
  // Whole training text (prompt + solution) in bytes: <= 128 for levels 1-3, <= 256 above.
  for (int level = 1; level <= kTask.num_levels(); ++level) {
    const size_t budget = level <= 3 ? 128 : 256;
    for (uint64_t i = 0; i < 2000; ++i) {
      const Problem p = kTask.sample(level, Split::Train, 3, i);
      EXPECT_LE(p.prompt.size() + p.solution.size(), budget) << p.prompt << p.solution;
    }
  }
}

TEST(Arithmetic, ScoringIsStrict) {
  const Problem p = kTask.make(1, '+', 47, 85);
  const std::string think = "<think>\n47+85\n</think>\n";
  const struct {
    std::string completion;
    bool well_formed, correct;
  } cases[] = {
      {p.solution, true, true},
      {p.solution + "\n", true, true},
      {think + "Answer: 132", true, true},  // the scratchpad is not graded, only the answer
      {think + "Answer: 133", true, false},
      {think + "Answer: -132", true, false},
      {think + "Answer: 0132", false, false},
      {think + "Answer: +132", false, false},
      {think + "Answer: 132.0", false, false},
      {think + "Answer: 10000000000000000000000000000000000000000", false, false},
      {think + "Answer: 132 133", false, false},
      {think + "Answer: 132\nAnswer: 132", false, false},
      {"<think>\nAnswer: 132\n</think>\nAnswer: 132", false, false},
      {"<think>\nAnswer: 132\n</think>\n", false, false},
      {"47+85\n</think>\nAnswer: 132", false, false},
      {"<think>\n47+85\nAnswer: 132", false, false},
      {"<think>\n<think>\n47+85\n</think>\nAnswer: 132", false, false},
      {think + "Answer: 132 ", false, false},
      {think + "Answer: 132\n\n", false, false},
      {think + "Answer: 132\r\n", false, false},
      {think + "Answer: 132 because 47+85=132", false, false},
      {" " + p.solution, false, false},
      {think + "Answer: \xef\xbc\x91\xef\xbc\x93\xef\xbc\x92", false, false},  // full-width digits
      {"", false, false},
      {"132", false, false},
  };
  for (const auto& c : cases) {
    const Score s = kTask.score(p, c.completion);
    EXPECT_EQ(s.well_formed, c.well_formed) << testing::PrintToString(c.completion) << s.reason;
    EXPECT_EQ(s.correct, c.correct) << testing::PrintToString(c.completion) << s.reason;
    EXPECT_DOUBLE_EQ(s.reward, (c.correct ? 1.0 : 0.0) + (c.well_formed ? 0.1 : 0.0));
    EXPECT_EQ(s.reason.empty(), c.correct) << s.reason;
  }
}

TEST(Arithmetic, RewardWeightsAreFields) {
  const ArithmeticTask task(RewardWeights{2.0, 0.5});
  const Problem p = task.make(1, '+', 47, 85);
  EXPECT_DOUBLE_EQ(task.score(p, p.solution).reward, 2.5);
  EXPECT_DOUBLE_EQ(task.score(p, "<think>\nx\n</think>\nAnswer: 1").reward, 0.5);
  EXPECT_DOUBLE_EQ(task.score(p, "").reward, 0.0);
}

}  // namespace
}  // namespace tandem::tasks
