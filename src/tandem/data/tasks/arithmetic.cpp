#include "tandem/data/tasks/arithmetic.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "tandem/core/error.h"
#include "tandem/data/tasks/completion.h"
#include "tandem/data/tasks/sampling.h"

namespace tandem::tasks {
namespace {

// A level: which operations, and the exact digit counts of the operands. Fixed digit counts give
// every problem of a level the same layout, so each scratchpad character sits at the same offset
// from the digits it depends on: attention by position, the easiest thing for a small model.
struct ArithmeticLevel {
  const char* name;
  bool multiply;  // false: + or - with equal probability; true: *
  int a_digits, b_digits;
};
constexpr std::array<ArithmeticLevel, 5> kArithmeticLevels = {{
    {"add-sub-2d", false, 2, 2},  // the default; 16200 problems
    {"add-sub-3d", false, 3, 3},  // 1.6M problems
    {"mul-3dx1d", true, 3, 1},    // multiplier 2..9: 7200 problems
    {"add-sub-4d", false, 4, 4},
    {"mul-3dx2d", true, 3, 2},  // two partial products and a 5-column sum: the hard level
}};

int64_t pow10(int n) {
  int64_t p = 1;
  while (n-- > 0) p *= 10;
  return p;
}
int digit(int64_t x, int k) {
  return int(x / pow10(k) % 10);
}

// Column addition of two `width`-digit numbers (zero-padded), one line per column:
// "a+b+c=sc" where c is the carry in and the two-digit sum's tens digit is the carry out.
void add_columns(std::string& out, int64_t a, int64_t b, int width) {
  int carry = 0;
  for (int k = 0; k < width; ++k) {
    const int s = digit(a, k) + digit(b, k) + carry;
    out += fmt::format("{}+{}+{}={:02}\n", digit(a, k), digit(b, k), carry, s);
    carry = s / 10;
  }
}

// Column subtraction a - b with a >= b: "Ba-b-c=d" where B is the borrow out, shown as the ten
// lent to this column's digit a, and c the borrow in; every line is literally true arithmetic.
void sub_columns(std::string& out, int64_t a, int64_t b, int width) {
  int borrow = 0;
  for (int k = 0; k < width; ++k) {
    int d = digit(a, k) - digit(b, k) - borrow;
    const int out_borrow = d < 0 ? 1 : 0;
    d += 10 * out_borrow;
    out += fmt::format("{}{}-{}-{}={}\n", out_borrow, digit(a, k), digit(b, k), borrow, d);
    borrow = out_borrow;
  }
}

// a times one digit m: "x*m+c=pc", the product's tens digit carried into the next column.
void mul_columns(std::string& out, int64_t a, int m, int width) {
  int carry = 0;
  for (int k = 0; k < width; ++k) {
    const int s = digit(a, k) * m + carry;
    out += fmt::format("{}*{}+{}={:02}\n", digit(a, k), m, carry, s);
    carry = s / 10;
  }
}

std::string canonical(char op, int64_t a, int64_t b) {
  return fmt::format("arithmetic:{}{}{}", a, op, b);
}

}  // namespace

int ArithmeticTask::num_levels() const {
  return int(kArithmeticLevels.size());
}

std::string ArithmeticTask::level_name(int level) const {
  check_level(level);
  return kArithmeticLevels[level - 1].name;
}

Problem ArithmeticTask::make(int level, char op, int64_t a, int64_t b) const {
  check_level(level);
  const ArithmeticLevel& lv = kArithmeticLevels[level - 1];
  TANDEM_CHECK(lv.multiply ? op == '*' : (op == '+' || op == '-'),
               "[arithmetic] level {} does not do '{}'", level, op);
  TANDEM_CHECK(a >= pow10(lv.a_digits - 1) && a < pow10(lv.a_digits) &&
                   b >= pow10(lv.b_digits - 1) && b < pow10(lv.b_digits),
               "[arithmetic] level {} wants {}-digit and {}-digit operands, got {} and {}", level,
               lv.a_digits, lv.b_digits, a, b);
  std::string steps;
  int64_t result = 0;
  if (op == '+') {
    result = a + b;
    steps = fmt::format("{}+{}\n", a, b);
    add_columns(steps, a, b, lv.a_digits);
  } else if (op == '-') {
    result = a - b;
    // A negative difference is computed as -(b-a): the columns always subtract the smaller
    // number, and the header says so before the first column.
    const int64_t hi = std::max(a, b), lo = std::min(a, b);
    steps = a >= b ? fmt::format("{}-{}\n", a, b) : fmt::format("-({}-{})\n", b, a);
    sub_columns(steps, hi, lo, lv.a_digits);
  } else if (lv.b_digits == 1) {
    result = a * b;
    steps = fmt::format("{}*{}\n", a, b);
    mul_columns(steps, a, int(b), lv.a_digits);
  } else {
    // Long multiplication by a two-digit b: a*b0 and a*b1 as 4-digit partial products, then their
    // sum with the second shifted one place, both zero-padded to 5 digits (99910 + 8991 < 10^5).
    result = a * b;
    const int b0 = digit(b, 0), b1 = digit(b, 1);
    steps = fmt::format("{}*{}\n{}*{}:\n", a, b, a, b0);
    mul_columns(steps, a, b0, lv.a_digits);
    steps += fmt::format("{}*{}:\n", a, b1);
    mul_columns(steps, a, b1, lv.a_digits);
    const int64_t p0 = a * b0, p1 = a * b1 * 10;
    steps += fmt::format("{:05}+{:05}:\n", p0, p1);
    add_columns(steps, p0, p1, 5);
  }
  steps.pop_back();  // the envelope adds the newline before </think>

  Problem p;
  p.prompt = fmt::format("What is {} {} {}?\n", a, op, b);
  p.answer = std::to_string(result);
  p.solution = format_completion(steps, p.answer);
  p.numbers = {a, b};
  p.level = level;
  p.id = problem_hash(canonical(op, a, b));
  return p;
}

Problem ArithmeticTask::sample(int level, Split split, uint64_t seed, uint64_t index) const {
  check_level(level);
  const ArithmeticLevel& lv = kArithmeticLevels[level - 1];
  Draws draws(seed, name(), level, split, index);
  // Redraw until the problem's own hash lands in the requested split: the split is a property of
  // (op, a, b), so no train draw can ever produce a held-out problem.
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    const char op = lv.multiply ? '*' : (draws.uniform(0, 1) ? '-' : '+');
    const int64_t a = draws.uniform(pow10(lv.a_digits - 1), pow10(lv.a_digits) - 1);
    const int64_t b = lv.multiply && lv.b_digits == 1
                          ? draws.uniform(2, 9)  // x0 and x1 teach nothing
                          : draws.uniform(pow10(lv.b_digits - 1), pow10(lv.b_digits) - 1);
    if (split_of(problem_hash(canonical(op, a, b))) == split) return make(level, op, a, b);
  }
  fail("[arithmetic] no {} problem found at level {} after {} draws", split_name(split), level,
       kMaxAttempts);
}

Task::Verdict ArithmeticTask::check_answer(const Problem& problem, std::string_view answer) const {
  Verdict v;
  const auto value = parse_canonical_int(answer, &v.reason);
  if (!value) return v;
  v.well_formed = true;
  v.correct = std::to_string(*value) == problem.answer;
  if (!v.correct) v.reason = fmt::format("answer {} != expected {}", *value, problem.answer);
  return v;
}

}  // namespace tandem::tasks
