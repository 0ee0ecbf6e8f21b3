// data/tasks/problem_file.h: the user's problems for GRPO, judged by a named verifier or an
// outside program; a judge that fails gives reward 0 with the reason, and never stops the run.
#include "tandem/data/tasks/problem_file.h"

#include <gtest/gtest.h>

#include "support/expect_error.h"
#include "support/temp_files.h"
#include "tandem/data/tasks/completion.h"

namespace tandem::tasks {
namespace {

using test::expect_error;

std::string problems_file(const std::string& text) {
  const std::string path = test::temp_dir() + "/problems.jsonl";
  test::write_raw(path, text);
  return path;
}

VerifierSpec verifier(std::string kind, std::string command = "", double timeout_s = 10) {
  VerifierSpec v;
  v.kind = std::move(kind), v.command = std::move(command), v.timeout_s = timeout_s;
  v.tolerance = 1e-3;
  return v;
}

std::string answered(std::string_view answer) { return format_completion("work", answer); }

TEST(ProblemFile, ReadsLevelsAndSplitsByPromptHash) {
  std::string text;
  for (int i = 0; i < 200; ++i)
    text += fmt::format(R"({{"prompt": "p{}", "answer": "{}", "level": {}}})", i, i, 1 + i % 2) + "\n";
  const ProblemFileTask task(problems_file(text), {}, 0.25);
  EXPECT_EQ(task.num_levels(), 2);
  const uint64_t train = task.count(1, Split::Train) + task.count(2, Split::Train);
  const uint64_t held = task.count(1, Split::Heldout) + task.count(2, Split::Heldout);
  EXPECT_EQ(train + held, 200u);
  EXPECT_NEAR(double(held) / 200, 0.25, 0.08);
  // Sampling stays inside its level and split, and wraps around.
  for (uint64_t i = 0; i < 300; ++i) {
    const Problem p = task.sample(2, Split::Heldout, 5, i);
    EXPECT_EQ(p.level, 2);
    EXPECT_EQ(std::stoi(p.prompt.substr(1)) % 2, 1);
    EXPECT_EQ(p.prompt.back(), '\n');
  }
}

TEST(ProblemFile, NamedVerifiersJudgeTheFinalAnswer) {
  const std::string path = problems_file(
      R"({"prompt": "a", "answer": "42"})" "\n" R"({"prompt": "b", "answer": 2.5})" "\n"
      R"({"prompt": "c", "answer": "[0-9]+ apples"})" "\n");
  const ProblemFileTask exact(path, verifier("exact"), 0);
  const Problem want{"a\n", "", "42", {}, 1, 0};
  EXPECT_TRUE(exact.score(want, answered("42")).correct);
  EXPECT_FALSE(exact.score(want, answered("43")).correct);
  EXPECT_TRUE(exact.score(want, answered("43")).well_formed);
  EXPECT_FALSE(exact.score(want, "42").well_formed);  // no envelope

  Problem num{"b\n", "", "2.5", {}, 1, 0};
  const ProblemFileTask numeric(problems_file(R"({"prompt": "b", "answer": 2.5})" "\n"),
                                verifier("numeric"), 0);
  EXPECT_TRUE(numeric.score(num, answered("2.5004")).correct);
  EXPECT_FALSE(numeric.score(num, answered("2.51")).correct);
  EXPECT_FALSE(numeric.score(num, answered("two")).well_formed);

  Problem re{"c\n", "", "[0-9]+ apples", {}, 1, 0};
  const ProblemFileTask regex(problems_file(R"({"prompt": "c", "answer": "[0-9]+ apples"})" "\n"),
                              verifier("regex"), 0);
  EXPECT_TRUE(regex.score(re, answered("12 apples")).correct);
  EXPECT_FALSE(regex.score(re, answered("12 pears")).correct);
}

TEST(ProblemFile, AnOutsideProgramJudgesAndItsFailuresGiveZeroWithTheReason) {
  const std::string path = problems_file(R"({"prompt": "p", "answer": "7"})" "\n");
  const Problem p{"p\n", "", "7", {}, 1, 0};
  const auto judge = [&](const std::string& cmd) {
    return ProblemFileTask(path, verifier("cmd", cmd, 0.5), 0)
        .score(p, "anything");
  };
  EXPECT_DOUBLE_EQ(judge("cat >/dev/null; echo 1.5").reward, 1.5);
  EXPECT_TRUE(judge("cat >/dev/null; echo 1.5").correct);
  const Score j = judge(R"(cat >/dev/null; echo '{"reward": 0.3, "correct": true}')");
  EXPECT_DOUBLE_EQ(j.reward, 0.3);
  EXPECT_TRUE(j.correct);
  // It gets the request as one JSON line.
  EXPECT_DOUBLE_EQ(judge(R"(grep -q '"answer":"7","completion":"anything"' && echo 1 || echo 0)").reward, 1);
  for (const auto& [cmd, reason] : std::vector<std::pair<std::string, std::string>>{
           {"sleep 5", "timed out"}, {"exit 4", "exit code 4"}, {"echo maybe", "expected a number"},
           {"kill -KILL $$", "signal 9"}}) {
    const Score s = judge(cmd);
    EXPECT_TRUE(s.verifier_failed) << cmd;
    EXPECT_EQ(s.reward, 0) << cmd;
    EXPECT_NE(s.reason.find(reason), std::string::npos) << cmd << ": " << s.reason;
  }
  // Many at once: each completion its own answer.
  const ProblemFileTask task(path, verifier("cmd", "cat >/dev/null; echo 1"), 0);
  const std::vector<Problem> ps(20, p);
  const std::vector<std::string_view> cs(20, "x");
  for (const Score& s : task.score_all(ps, cs)) EXPECT_TRUE(s.correct);
}

TEST(ProblemFile, BadFilesAndSettingsAreOneLineErrors) {
  expect_error([&] { ProblemFileTask t(problems_file("{\"prompt\": \"p\"}\n"), {}, 0); },
               {"problems.jsonl:1", "answer"});
  expect_error([&] { ProblemFileTask t(problems_file("{\"answer\": 1}\n"), {}, 0); },
               {"problems.jsonl:1", "prompt"});
  expect_error([&] { ProblemFileTask t(problems_file("\n{oops\n"), {}, 0); },
               {"problems.jsonl:2", "JSON"});
  expect_error([&] { ProblemFileTask t(problems_file("{\"prompt\": \"p\", \"answer\": \"(\"}\n"), verifier("regex"), 0); },
               {"problems.jsonl:1", "regular expression"});
  expect_error([&] { ProblemFileTask t(problems_file("{\"prompt\": \"p\", \"answer\": \"x\"}\n"), verifier("numeric"), 0); },
               {"problems.jsonl:1", "number"});
  expect_error([&] { ProblemFileTask t(problems_file("\n"), {}, 0); }, {"problems.jsonl", "no problems"});
  expect_error([&] { ProblemFileTask t(problems_file("{\"prompt\": \"p\", \"answer\": 1}\n"), verifier("vibes"), 0); },
               {"verifier", "vibes"});
  expect_error([&] { ProblemFileTask t(problems_file("{\"prompt\": \"p\", \"answer\": 1}\n"), verifier("cmd"), 0); },
               {"verifier_cmd"});
}

}  // namespace
}  // namespace tandem::tasks
