#include "tandem/data/tasks/countdown.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <optional>

#include "tandem/core/error.h"
#include "tandem/data/tasks/completion.h"
#include "tandem/data/tasks/expression.h"
#include "tandem/data/tasks/sampling.h"

namespace tandem::tasks {
namespace {

struct CountdownLevel {
  const char* name;
  int count;   // how many numbers are given
  int lo, hi;  // their range (repeats allowed)
};
constexpr std::array<CountdownLevel, 4> kCountdownLevels = {{
    {"3-numbers-1..9", 3, 1, 9},
    {"3-numbers-1..25", 3, 1, 25},
    {"4-numbers-1..9", 4, 1, 9},
    {"4-numbers-1..25", 4, 1, 25},
}};
constexpr int64_t kMinTarget = 1, kMaxTarget = 100;

// A partial expression while the generator combines numbers: its value, its text with minimal
// parentheses, and the precedence of its top operator (3 for a bare number).
struct Node {
  int64_t value;
  std::string text;
  int prec;
};

int precedence(char op) {
  return op == '+' || op == '-' ? 1 : 2;
}

Node combine(const Node& l, char op, const Node& r, int64_t value) {
  const int p = precedence(op);
  // The right operand keeps its parentheses at equal precedence under - and / (a-(b+c), a/(b*c));
  // under + and * dropping them gives the same value (a*(b/c) = a*b/c, exactly, since c | b).
  const bool paren_l = l.prec < p;
  const bool paren_r = r.prec < p || (r.prec == p && (op == '-' || op == '/'));
  std::string text = paren_l ? "(" + l.text + ")" : l.text;
  text += op;
  text += paren_r ? "(" + r.text + ")" : r.text;
  return {value, std::move(text), p};
}

struct Built {
  std::vector<int64_t> numbers;  // sorted
  int64_t target;
  std::string steps, expression;
};

// One attempt at a random solvable problem: combine two random pool entries with a random
// operator until one is left. Intermediates stay positive integers (larger operand first for - and
// /, exact division only), so every step line reads as plain school arithmetic.
std::optional<Built> try_build(const CountdownLevel& lv, Draws& draws) {
  std::vector<Node> pool;
  Built b;
  for (int i = 0; i < lv.count; ++i) {
    const int64_t x = draws.uniform(lv.lo, lv.hi);
    b.numbers.push_back(x);
    pool.push_back({x, std::to_string(x), 3});
  }
  while (pool.size() > 1) {
    const size_t i = size_t(draws.uniform(0, int64_t(pool.size()) - 1));
    size_t j = size_t(draws.uniform(0, int64_t(pool.size()) - 2));
    if (j >= i) ++j;
    const char op = "+-*/"[draws.uniform(0, 3)];
    Node l = pool[i], r = pool[j];
    if ((op == '-' || op == '/') && l.value < r.value) std::swap(l, r);
    int64_t v = 0;
    switch (op) {
      case '+':
        v = l.value + r.value;
        break;
      case '-':
        v = l.value - r.value;
        break;
      case '*':
        v = l.value * r.value;
        break;
      default:
        if (l.value % r.value != 0) return std::nullopt;
        v = l.value / r.value;
    }
    if (v <= 0) return std::nullopt;
    b.steps += fmt::format("{}{}{}={}\n", l.value, op, r.value, v);
    Node n = combine(l, op, r, v);
    pool.erase(pool.begin() + std::max(i, j));
    pool.erase(pool.begin() + std::min(i, j));
    pool.push_back(std::move(n));
  }
  b.target = pool[0].value;
  if (b.target < kMinTarget || b.target > kMaxTarget) return std::nullopt;
  // A target among the given numbers is solved by cancelling the rest (x*y/y): no search needed.
  if (std::find(b.numbers.begin(), b.numbers.end(), b.target) != b.numbers.end()) {
    return std::nullopt;
  }
  b.steps.pop_back();
  b.expression = pool[0].text;
  std::sort(b.numbers.begin(), b.numbers.end());
  return b;
}

}  // namespace

int CountdownTask::num_levels() const {
  return int(kCountdownLevels.size());
}

std::string CountdownTask::level_name(int level) const {
  check_level(level);
  return kCountdownLevels[level - 1].name;
}

Problem CountdownTask::sample(int level, Split split, uint64_t seed, uint64_t index) const {
  check_level(level);
  Draws draws(seed, name(), level, split, index);
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    const auto b = try_build(kCountdownLevels[level - 1], draws);
    if (!b) continue;
    // The problem is the multiset of numbers and the target, whatever expression produced it;
    // its hash alone decides the split, so train and held-out can never share a problem.
    const uint64_t id =
        problem_hash(fmt::format("countdown:{}={}", fmt::join(b->numbers, ","), b->target));
    if (split_of(id) != split) continue;
    Problem p;
    p.prompt =
        fmt::format("Use {} once each to make {}.\n", fmt::join(b->numbers, ", "), b->target);
    p.answer = std::to_string(b->target);
    p.solution = format_completion(b->steps, b->expression);
    p.numbers = b->numbers;
    p.level = level;
    p.id = id;
    return p;
  }
  fail("[countdown] no {} problem found at level {} after {} draws", split_name(split), level,
       kMaxAttempts);
}

Task::Verdict CountdownTask::check_answer(const Problem& problem, std::string_view answer) const {
  Verdict v;
  const Expression e = evaluate_expression(answer);
  if (!e.parsed) {
    v.reason = "answer is not a valid expression: " + e.error;
    return v;
  }
  v.well_formed = true;
  std::vector<int64_t> used = e.numbers, given = problem.numbers;
  std::sort(used.begin(), used.end());
  std::sort(given.begin(), given.end());
  if (used != given) {
    v.reason = fmt::format("uses numbers [{}], must use each of [{}] exactly once",
                           fmt::join(used, ", "), fmt::join(given, ", "));
    return v;
  }
  if (!e.evaluated) {
    v.reason = e.error;
    return v;
  }
  v.correct = std::to_string(e.value) == problem.answer;
  if (!v.correct)
    v.reason = fmt::format("expression gives {}, target is {}", e.value, problem.answer);
  return v;
}

}  // namespace tandem::tasks
