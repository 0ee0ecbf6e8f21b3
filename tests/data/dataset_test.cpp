// The user's data (data/dataset.h): records parsed with errors that name file, line and field;
// chat examples rendered as the task path renders them; shuffling that is a permutation; the
// train/validation split; bad and over-long records.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "support/expect_error.h"
#include "support/temp_files.h"
#include "tandem/data/chat_format.h"
#include "tandem/data/dataset.h"
#include "tandem/data/permutation.h"
#include "tandem/data/tasks/task.h"
#include "tandem/io/line_file.h"
#include "tandem/recipes/model_dir.h"

namespace tandem {
namespace {

using test::expect_error;

// This test's folder (test::temp_dir() empties it, so it is made once per test).
std::string dir() {
  static std::string test, path;
  const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  if (name != test) test = name, path = test::temp_dir();
  return path;
}

std::string write(const std::string& name, const std::string& text) {
  const std::string path = dir() + "/" + name;
  test::write_raw(path, text);
  return path;
}

std::string chat_line(int i) {
  return fmt::format(R"({{"messages": [{{"role": "user", "content": "q{}"}}, )"
                     R"({{"role": "assistant", "content": "a{}"}}]}})", i, i);
}

std::string chat_file(int n, const std::string& name = "chat.jsonl") {
  std::string text;
  for (int i = 0; i < n; ++i) text += chat_line(i) + "\n";
  return write(name, text);
}

// The user turn's text of an example ("q17" -> 17).
int question_of(const Tokenizer& tok, const Example& ex) {
  const std::string text = tok.decode(ex.tokens);
  const size_t q = text.find("user\nq");
  EXPECT_NE(q, std::string::npos) << text;
  return std::stoi(text.substr(q + 6));
}

TEST(Permutation, IsABijectionForManySizes) {
  for (uint64_t n : {1u, 2u, 3u, 5u, 64u, 100u, 1000u, 4097u}) {
    const Permutation p(n, 7, 3);
    std::set<uint64_t> seen;
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t x = p(i);
      ASSERT_LT(x, n);
      seen.insert(x);
    }
    EXPECT_EQ(seen.size(), n) << "n=" << n;
  }
  // Not the identity, and another seed gives another order.
  const Permutation a(1000, 1, 0), b(1000, 2, 0);
  int fixed = 0, same = 0;
  for (uint64_t i = 0; i < 1000; ++i) fixed += a(i) == i, same += a(i) == b(i);
  EXPECT_LT(fixed, 20);
  EXPECT_LT(same, 20);
}

TEST(LineFile, IndexesNonBlankLinesAcrossChunksAndNumbersThem) {
  std::string text = "first\n\n  \r\nthird-ish\r\n";
  text += std::string(3 << 20, 'x') + "\n";  // a line longer than the read buffer
  text += "last without newline";
  const std::string path = write("lines.jsonl", text);
  std::vector<uint64_t> numbers;
  const LineFile f = LineFile::open(path, [&](std::string_view, uint64_t n) {
    numbers.push_back(n);
    return true;
  });
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f.line(0), "first");
  EXPECT_EQ(f.line(1), "third-ish");
  EXPECT_EQ(f.line(2).size(), size_t(3) << 20);
  EXPECT_EQ(f.line(3), "last without newline");
  EXPECT_EQ(numbers, (std::vector<uint64_t>{1, 4, 5, 6}));
  EXPECT_EQ(f.line_number(1), 4u);
  EXPECT_EQ(f.line_number(3), 6u);
}

TEST(ChatFormat, ARecordOfATaskProblemGivesTheTaskPathsTokens) {
  const Tokenizer tok = demo_tokenizer();
  const auto task = tasks::make_task("arithmetic");
  for (uint64_t i = 0; i < 20; ++i) {
    const tasks::Problem p = task->sample(1 + int(i % 4), tasks::Split::Train, 1, i);
    std::string prompt = p.prompt;
    while (!prompt.empty() && prompt.back() == '\n') prompt.pop_back();
    const Example want = chat_example(tok, p);
    const Example got = chat_training_example(
        tok, {{"user", prompt, std::nullopt}, {"assistant", p.solution, std::nullopt}}, true);
    EXPECT_EQ(got.tokens, want.tokens);
    EXPECT_EQ(got.loss, want.loss);
  }
}

TEST(ChatFormat, LossOnEveryAssistantTurnOnlyAndThinkingDroppedByFlag) {
  const Tokenizer tok = demo_tokenizer();
  const std::vector<ChatMessage> chat = {{"system", "S", std::nullopt},
                                         {"user", "U1", std::nullopt},
                                         {"assistant", "<think>\nR\n</think>\n\nA1", std::nullopt},
                                         {"user", "U2", std::nullopt},
                                         {"assistant", "A2", std::string("why")}};
  for (bool keep : {true, false}) {
    const Example ex = chat_training_example(tok, chat, keep);
    ASSERT_EQ(ex.tokens.size(), ex.loss.size());
    std::string with_loss;
    for (size_t t = 0; t < ex.tokens.size(); ++t)
      if (ex.loss[t]) with_loss += tok.decode(std::span(&ex.tokens[t], 1));
    if (keep) {
      EXPECT_EQ(with_loss, "<think>\nR\n</think>\n\nA1<|im_end|><think>\nwhy\n</think>\n\nA2<|im_end|>");
    } else {
      EXPECT_EQ(with_loss, "A1<|im_end|>A2<|im_end|>");
    }
    EXPECT_EQ(tok.decode(std::span(&ex.tokens.back(), 1)), "<|im_end|>");  // ends at the last turn
    EXPECT_EQ(ex.loss.back(), 1);
  }
}

TEST(Dataset, NoShuffleTakesRecordsInOrderWithValidationLast) {
  const Tokenizer tok = demo_tokenizer();
  DataOptions o;
  o.files = {chat_file(10)};
  o.shuffle = false, o.val_fraction = 0.2;
  const Dataset d(o, tok);
  EXPECT_EQ(d.train_size(), 8u);
  ASSERT_EQ(d.val_size(), 2u);
  for (uint64_t g = 0; g < 20; ++g) EXPECT_EQ(question_of(tok, d.example(g)), int(g % 8));
  EXPECT_EQ(question_of(tok, d.val_example(0)), 8);
  EXPECT_EQ(question_of(tok, d.val_example(1)), 9);
}

TEST(Dataset, ShuffledEpochsVisitEveryTrainRecordOnceAndNeverAValidationOne) {
  const Tokenizer tok = demo_tokenizer();
  DataOptions o;
  o.files = {chat_file(50)};
  o.val_fraction = 0.1, o.seed = 3;
  const Dataset d(o, tok);
  ASSERT_EQ(d.val_size(), 5u);
  std::set<int> val;
  for (uint64_t k = 0; k < 5; ++k) val.insert(question_of(tok, d.val_example(k)));
  EXPECT_EQ(val.size(), 5u);
  std::vector<int> epoch0, epoch1;
  for (uint64_t g = 0; g < 45; ++g) epoch0.push_back(question_of(tok, d.example(g)));
  for (uint64_t g = 45; g < 90; ++g) epoch1.push_back(question_of(tok, d.example(g)));
  for (const auto* e : {&epoch0, &epoch1}) {
    std::set<int> seen(e->begin(), e->end());
    EXPECT_EQ(seen.size(), 45u);
    for (int q : seen) EXPECT_FALSE(val.contains(q)) << q;
  }
  EXPECT_NE(epoch0, epoch1);  // each epoch its own order
  // A pure function of the row: asking again gives the same example.
  EXPECT_EQ(d.example(17).tokens, d.example(17).tokens);
}

TEST(Dataset, WeightsSetEachFilesShareOfRows) {
  const Tokenizer tok = demo_tokenizer();
  DataOptions o;
  std::string b;
  for (int i = 0; i < 20; ++i) b += R"({"text": "plain text number )" + std::to_string(i) + "\"}\n";
  o.files = {chat_file(20), write("text.jsonl", b)};
  o.weights = {3, 1};
  const Dataset d(o, tok);
  int chat = 0;
  for (uint64_t g = 0; g < 4000; ++g) chat += tok.decode(d.example(g).tokens).find("<|im_start|>") == 0;
  EXPECT_NEAR(chat / 4000.0, 0.75, 0.03);
}

TEST(Dataset, TextFilesAreCutIntoParagraphsThatFitTheContext) {
  const Tokenizer tok = demo_tokenizer();  // one token per byte
  std::string text = "one short paragraph\nof two lines\n\nanother\n\n\n";
  for (int i = 0; i < 40; ++i) text += "a long paragraph line\n";  // 22 bytes each, 880 in all
  DataOptions o;
  o.files = {write("corpus.txt", text)};
  o.shuffle = false, o.max_tokens = 257;
  const Dataset d(o, tok);
  EXPECT_EQ(tok.decode(d.example(0).tokens), "one short paragraph\nof two lines<|endoftext|>");
  EXPECT_EQ(tok.decode(d.example(1).tokens), "another<|endoftext|>");
  ASSERT_GE(d.train_size(), 6u);  // 880 bytes in pieces of at most ~231
  for (uint64_t g = 2; g < d.train_size(); ++g) EXPECT_LE(d.example(g).tokens.size(), 257u);
  EXPECT_EQ(d.truncated(), 0);
}

TEST(Dataset, LongRecordsAreTruncatedOrSkippedAndCounted) {
  const Tokenizer tok = demo_tokenizer();
  const std::string path = write(
      "long.jsonl", R"({"prompt": "hi", "completion": ")" + std::string(500, 'z') + "\"}\n" +
                        chat_line(1) + "\n");
  DataOptions o;
  o.files = {path};
  o.shuffle = false, o.max_tokens = 100;
  {
    const Dataset d(o, tok);
    const Example ex = d.example(0);
    EXPECT_EQ(ex.tokens.size(), 100u);
    EXPECT_EQ(d.truncated(), 1);
    EXPECT_EQ(d.example(1).tokens.size(), chat_training_example(tok, {{"user", "q1", {}}, {"assistant", "a1", {}}}, true).tokens.size());
  }
  o.skip_long = true;
  const Dataset d(o, tok);
  EXPECT_TRUE(d.example(0).tokens.empty());
  EXPECT_EQ(d.skipped_long(), 1);
  EXPECT_EQ(d.truncated(), 0);
}

TEST(Dataset, BadLinesNameFileLineAndFieldOrAreSkippedAndCounted) {
  const Tokenizer tok = demo_tokenizer();
  const std::string good = chat_line(0) + "\n";
  struct Case {
    std::string line;
    std::vector<std::string_view> parts;
  };
  const std::vector<Case> cases = {
      {"{not json", {":3:", "JSON"}},
      {R"({"messages": [{"role": "user", "content": "x"}]})", {":3:", "no assistant message"}},
      {R"({"messages": [{"role": "robot", "content": "x"}]})", {":3:", "messages[0].role", "robot"}},
      {R"({"messages": [{"role": "user"}]})", {":3:", "content"}},
      {R"({"prompt": "only a prompt"})", {":3:", "completion"}},
      {R"({"text": 5})", {":3:", "text", "string"}},
      {R"({"text": ""})", {":3:", "text", "empty"}},
      {R"({"something": "else"})", {":3:", "messages"}},
      {R"([1, 2])", {":3:", "object"}},
  };
  for (const Case& c : cases) {
    const std::string path = write("bad.jsonl", good + "\n" + c.line + "\n" + good);
    DataOptions o;
    o.files = {path};
    std::vector<std::string_view> parts = c.parts;
    parts.push_back(path);
    expect_error([&] { Dataset d(o, tok); }, parts);
    o.skip_bad = true;
    const Dataset d(o, tok);
    EXPECT_EQ(d.files()[0].bad_lines, 1u) << c.line;
    EXPECT_EQ(d.files()[0].records, 2u);
    ASSERT_EQ(d.bad_line_samples().size(), 1u);
    EXPECT_NE(d.bad_line_samples()[0].find(":3:"), std::string::npos);
  }
}

TEST(Dataset, EmptyMissingOrUnknownFilesAreOneLineErrors) {
  const Tokenizer tok = demo_tokenizer();
  DataOptions o;
  o.files = {write("empty.jsonl", "\n  \n")};
  expect_error([&] { Dataset d(o, tok); }, {"empty.jsonl", "no records"});
  o.files = {write("data.csv", "a,b\n")};
  expect_error([&] { Dataset d(o, tok); }, {"data.csv", "unknown data file type"});
  o.files = {dir() + "/absent.jsonl"};
  expect_error([&] { Dataset d(o, tok); }, {"absent.jsonl", "cannot open"});
  o.files = {chat_file(1)};
  o.val_fraction = 0.5;
  expect_error([&] { Dataset d(o, tok); }, {"chat.jsonl", "none left to train on"});
  o.files = {write("bad.jsonl", "{oops\n")};
  o.val_fraction = 0, o.skip_bad = true;
  expect_error([&] { Dataset d(o, tok); }, {"bad.jsonl", "no records", "1 bad lines skipped"});
}

}  // namespace
}  // namespace tandem
