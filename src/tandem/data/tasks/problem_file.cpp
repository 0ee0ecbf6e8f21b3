#include "tandem/data/tasks/problem_file.h"

#include <fmt/format.h>
#include <regex.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <thread>

#include "tandem/core/error.h"
#include "tandem/core/json_text.h"
#include "tandem/core/subprocess.h"
#include "tandem/data/permutation.h"
#include "tandem/data/tasks/completion.h"
#include "tandem/io/json_file.h"
#include "tandem/io/line_file.h"
#include "tandem/tokenizer/chat_template.h"

namespace tandem::tasks {

namespace {
constexpr uint64_t kOrderStream = 0x9e0b1e;

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// A POSIX extended regular expression that must match the whole text. std::regex is avoided: GCC
// 12 warns inside its headers (maybe-uninitialized) under the sanitizer build.
class WholeMatch {
 public:
  explicit WholeMatch(const std::string& pattern) {
    const std::string anchored = "^(" + pattern + ")$";
    const int rc = ::regcomp(&re_, anchored.c_str(), REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
      char why[256];
      ::regerror(rc, &re_, why, sizeof why);
      error_ = why;
    }
  }
  ~WholeMatch() {
    if (error_.empty()) ::regfree(&re_);
  }
  WholeMatch(const WholeMatch&) = delete;
  WholeMatch& operator=(const WholeMatch&) = delete;
  const std::string& error() const { return error_; }  // empty: compiled
  bool matches(std::string_view text) const {
    return error_.empty() && ::regexec(&re_, std::string(text).c_str(), 0, nullptr, 0) == 0;
  }

 private:
  regex_t re_{};
  std::string error_;
};

std::optional<double> parse_number(std::string_view s) {
  const std::string text(trim(s));
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// The answer a record expects, as text: a JSON string, or a number written back.
std::string answer_text(const JsonFields& f) {
  const nlohmann::json* a = f.find("answer");
  if (!a) f.missing("answer", "the expected answer (a string or a number)");
  if (a->is_string()) return a->get<std::string>();
  if (a->is_number()) return json_text(*a);
  f.wrong("answer", "a string or a number", *a);
}
}  // namespace

void check_verifier(const VerifierSpec& spec) {
  if (spec.kind != "exact" && spec.kind != "numeric" && spec.kind != "regex" && spec.kind != "cmd")
    config_fail("`verifier` must be exact, numeric, regex or cmd, got \"{}\"", spec.kind);
  if (spec.kind == "cmd" && spec.command.empty())
    config_fail("`verifier` cmd needs `verifier_cmd`, the program to run");
  if (!(spec.timeout_s > 0)) config_fail("`verifier_timeout` must be positive, got {}", spec.timeout_s);
  if (!(spec.tolerance >= 0)) config_fail("`tolerance` must be 0 or more, got {}", spec.tolerance);
}

ProblemFileTask::ProblemFileTask(const std::string& path, VerifierSpec verifier,
                                 double heldout_fraction, RewardWeights weights)
    : Task(weights), path_(path), verifier_(std::move(verifier)) {
  check_verifier(verifier_);
  if (!(heldout_fraction >= 0 && heldout_fraction < 1))
    config_fail("`heldout_fraction` must be in [0, 1), got {}", heldout_fraction);
  const LineFile lines = LineFile::open(path, [&](std::string_view text, uint64_t number) {
    const std::string where = fmt::format("{}:{}", path, number);
    const nlohmann::json j = parse_json(text, where);
    const JsonFields f(j, where);
    Problem p;
    if (f.has("messages")) {
      const std::vector<ChatMessage> chat = chat_messages_from_json(j, where, nullptr);
      for (const ChatMessage& m : chat)
        if (m.role == "user") p.prompt = m.content;
      TANDEM_CHECK(!p.prompt.empty(), "{}: field 'messages': no user message to take as the prompt",
                   where);
    } else {
      p.prompt = f.get_string("prompt");
    }
    TANDEM_CHECK(!p.prompt.empty(), "{}: field 'prompt': expected some text, got an empty string", where);
    p.answer = answer_text(f);
    if (verifier_.kind == "regex") {
      const WholeMatch re(p.answer);
      TANDEM_CHECK(re.error().empty(), "{}: field 'answer': not a valid regular expression ({})",
                   where, re.error());
    }
    if (verifier_.kind == "numeric" && !parse_number(p.answer))
      fail("{}: field 'answer': expected a number for the numeric verifier, got \"{}\"", where, p.answer);
    p.level = int(f.opt_int("level", 1, 1000).value_or(1));
    p.id = fnv1a(p.prompt);
    if (p.prompt.back() != '\n') p.prompt += '\n';  // tasks' prompts end with one (task.h)
    if (size_t(p.level) > levels_.size()) levels_.resize(size_t(p.level));
    Level& l = levels_[size_t(p.level) - 1];
    const bool heldout = double(p.id % 1000000) < heldout_fraction * 1e6;
    (heldout ? l.heldout : l.train).push_back(std::move(p));
    return false;  // kept here, not in the line index
  });
  TANDEM_CHECK(!levels_.empty(), "{}: no problems", path);
}

std::string ProblemFileTask::level_name(int level) const {
  check_level(level);
  const Level& l = levels_[size_t(level) - 1];
  return fmt::format("level {} of {} ({} train, {} held out)", level, path_, l.train.size(),
                     l.heldout.size());
}

uint64_t ProblemFileTask::count(int level, Split split) const {
  check_level(level);
  const Level& l = levels_[size_t(level) - 1];
  return split == Split::Train ? l.train.size() : l.heldout.size();
}

Problem ProblemFileTask::sample(int level, Split split, uint64_t seed, uint64_t index) const {
  check_level(level);
  const std::vector<Problem>& all =
      split == Split::Train ? levels_[size_t(level) - 1].train : levels_[size_t(level) - 1].heldout;
  TANDEM_CHECK(!all.empty(), "{}: no {} problems at level {}", path_,
               split == Split::Train ? "training" : "held-out", level);
  const uint64_t n = all.size();
  return all[Permutation(n, seed, kOrderStream + uint64_t(level))(index % n)];
}

Task::Verdict ProblemFileTask::check_answer(const Problem& problem, std::string_view answer) const {
  const std::string_view got = trim(answer), want = trim(problem.answer);
  if (verifier_.kind == "exact") return {true, got == want, got == want ? "" : "wrong answer"};
  if (verifier_.kind == "numeric") {
    const std::optional<double> g = parse_number(got), w = parse_number(want);
    if (!g || !w) return {false, false, "the answer is not a number"};
    const bool ok = std::abs(*g - *w) <= verifier_.tolerance * std::max(1.0, std::abs(*w));
    return {true, ok, ok ? "" : "wrong answer"};
  }
  // regex (checked when the file was read)
  const bool ok = WholeMatch(problem.answer).matches(got);
  return {true, ok, ok ? "" : "the answer does not match"};
}

Score ProblemFileTask::score(const Problem& problem, std::string_view completion) const {
  if (verifier_.kind == "cmd") return score_by_command(problem, completion);
  return Task::score(problem, completion);
}

std::vector<Score> ProblemFileTask::score_all(const std::vector<Problem>& problems,
                                              const std::vector<std::string_view>& completions) const {
  if (verifier_.kind != "cmd") return Task::score_all(problems, completions);
  TANDEM_CHECK(problems.size() == completions.size(), "[tasks] {} problems, {} completions",
               problems.size(), completions.size());
  // The programs mostly wait (start-up, I/O, a hung one its time limit): run several at once.
  std::vector<Score> out(problems.size());
  std::atomic<size_t> next{0};
  const auto work = [&] {
    for (size_t i; (i = next++) < problems.size();) out[i] = score_by_command(problems[i], completions[i]);
  };
  std::vector<std::thread> pool;
  const size_t n = std::min<size_t>(size_t(std::max(verifier_.parallel, 1)), problems.size());
  for (size_t t = 1; t < n; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  return out;
}

Score ProblemFileTask::score_by_command(const Problem& problem, std::string_view completion) const {
  Score s;
  const nlohmann::json request = {{"prompt", problem.prompt},
                                  {"answer", problem.answer},
                                  {"completion", std::string(completion)},
                                  {"level", problem.level}};
  const ProcessResult r = run_process(
      verifier_.command, json_text(request, -1, InvalidUtf8::kReplace) + "\n", verifier_.timeout_s);
  const auto failed = [&](const std::string& why) {
    s.verifier_failed = true;
    s.reason = "verifier: " + why;
    return s;
  };
  if (r.timed_out) return failed(fmt::format("timed out after {} s", verifier_.timeout_s));
  if (!r.ok()) return failed(r.describe());
  const std::string_view out = trim(r.out);
  if (const std::optional<double> v = parse_number(out)) {
    s.reward = *v, s.correct = *v >= 1, s.well_formed = true;
    if (!s.correct) s.reason = "wrong answer (verifier)";
    return s;
  }
  const nlohmann::json j = parse_json_text(out, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("reward") || !j["reward"].is_number() ||
      !std::isfinite(j["reward"].get<double>()))
    return failed(fmt::format("expected a number or {{\"reward\": x}} on stdout, got \"{}\"",
                              std::string(out.substr(0, 80))));
  s.reward = j["reward"].get<double>();
  s.correct = j.contains("correct") && j["correct"].is_boolean() ? j["correct"].get<bool>()
                                                                  : s.reward >= 1;
  s.well_formed = true;
  if (!s.correct) s.reason = "wrong answer (verifier)";
  return s;
}

}  // namespace tandem::tasks
