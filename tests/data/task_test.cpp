// Properties every task shares: the factory, determinism, and train/held-out disjointness.
#include "tandem/data/tasks/task.h"

#include <gtest/gtest.h>

#include <string>
#include <unordered_set>

#include "support/expect_error.h"
#include "tandem/data/tasks/arithmetic.h"

namespace tandem::tasks {
namespace {

TEST(Tasks, FactoryKnowsItsNamesAndListsThemOnError) {
  for (const std::string& name : task_names()) {
    const auto task = make_task(name);
    EXPECT_EQ(task->name(), name);
    EXPECT_GE(task->num_levels(), 4);
    for (int l = 1; l <= task->num_levels(); ++l) EXPECT_FALSE(task->level_name(l).empty());
  }
  test::expect_error([] { make_task("sudoku"); }, {"arithmetic, countdown"});
  EXPECT_DOUBLE_EQ(make_task("countdown", {3.0, 0.25})->weights().format, 0.25);
}

class EachTask : public testing::TestWithParam<std::string> {};

TEST_P(EachTask, SampleIsAPureFunctionOfItsArguments) {
  const auto task = make_task(GetParam());
  const auto other = make_task(GetParam());  // a second instance: no hidden state shared
  for (int level = 1; level <= task->num_levels(); ++level) {
    std::unordered_set<std::string> prompts;
    for (uint64_t i = 0; i < 200; ++i) {
      const Problem a = task->sample(level, Split::Train, 5, i);
      const Problem b = other->sample(level, Split::Train, 5, i);
      EXPECT_EQ(a.prompt, b.prompt);
      EXPECT_EQ(a.solution, b.solution);
      EXPECT_EQ(a.id, b.id);
      prompts.insert(a.prompt);
    }
    EXPECT_GT(prompts.size(), 150u) << "indices should give mostly different problems";
    // The seed and the split each change the draw.
    int same_seed = 0, same_split = 0;
    for (uint64_t i = 0; i < 200; ++i) {
      const Problem a = task->sample(level, Split::Train, 5, i);
      same_seed += a.prompt == task->sample(level, Split::Train, 6, i).prompt;
      same_split += a.prompt == task->sample(level, Split::Heldout, 5, i).prompt;
    }
    EXPECT_LT(same_seed, 20);
    EXPECT_EQ(same_split, 0);
  }
}

// Regression pin: problems are data; if these move, every dataset and held-out set moves too.
TEST(Tasks, SamplingIsStableAcrossReleases) {
  EXPECT_EQ(make_task("arithmetic")->sample(1, Split::Train, 1, 0).prompt, "What is 18 + 82?\n");
  EXPECT_EQ(make_task("countdown")->sample(1, Split::Train, 1, 0).prompt,
            "Use 5, 6, 7 once each to make 72.\n");
}

TEST_P(EachTask, HeldoutProblemsNeverAppearInTrain) {
  const auto task = make_task(GetParam());
  for (int level = 1; level <= task->num_levels(); ++level) {
    std::unordered_set<std::string> heldout;
    for (uint64_t i = 0; i < 20000; ++i) {
      const Problem p = task->sample(level, Split::Heldout, 99, i);
      heldout.insert(p.prompt);
      ASSERT_EQ(p.id % 10, 0u);
    }
    // Compared by the problem text itself, not by the hash that built the split.
    for (uint64_t i = 0; i < 200000; ++i) {
      const Problem p = task->sample(level, Split::Train, 1234, i);
      ASSERT_EQ(heldout.count(p.prompt), 0u)
          << task->name() << " level " << level << " train index " << i << ": " << p.prompt;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Tasks, EachTask, testing::ValuesIn(task_names()));

TEST(Tasks, AboutOneArithmeticProblemInTenIsHeldOut) {
  // Enumerate level 1 completely: the held-out share of the problem space itself.
  const ArithmeticTask task;
  int heldout = 0, total = 0;
  for (char op : {'+', '-'}) {
    for (int a = 10; a <= 99; ++a) {
      for (int b = 10; b <= 99; ++b) {
        heldout += task.make(1, op, a, b).id % 10 == 0;
        ++total;
      }
    }
  }
  EXPECT_EQ(total, 16200);
  EXPECT_NEAR(double(heldout) / total, 0.1, 0.01);
}

}  // namespace
}  // namespace tandem::tasks
