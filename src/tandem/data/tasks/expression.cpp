#include "tandem/data/tasks/expression.h"

#include <fmt/format.h>

namespace tandem::tasks {
namespace {

class Parser {
 public:
  Parser(std::string_view text, const ExpressionLimits& limits, Expression& out)
      : s_(text), lim_(limits), out_(out) {}

  void run() {
    if (s_.size() > lim_.max_length) {
      return syntax(fmt::format("expression longer than {} bytes", lim_.max_length));
    }
    const int64_t v = expr(0);
    skip_spaces();
    if (ok_ && pos_ != s_.size()) syntax(fmt::format("unexpected '{}' at {}", s_[pos_], pos_));
    if (!ok_) return;
    out_.parsed = true;
    out_.evaluated = math_ok_;
    if (math_ok_) out_.value = v;
  }

 private:
  // Syntax errors stop the parse; arithmetic errors (division by zero, remainder, overflow) only
  // mark the value invalid, so a well-formed but wrong expression is still reported as parsed.
  void syntax(std::string why) {
    if (ok_) out_.error = std::move(why);
    ok_ = false;
  }
  void math(std::string why) {
    if (ok_ && math_ok_) out_.error = std::move(why);
    math_ok_ = false;
  }
  void skip_spaces() {
    while (pos_ < s_.size() && s_[pos_] == ' ') ++pos_;
  }
  char peek() {
    skip_spaces();
    return pos_ < s_.size() ? s_[pos_] : '\0';
  }

  int64_t expr(int depth) {
    int64_t v = term(depth);
    while (ok_) {
      const char op = peek();
      if (op != '+' && op != '-') break;
      ++pos_;
      const int64_t r = term(depth);
      if (!math_ok_) continue;  // keep parsing for syntax; the value is already invalid
      int64_t res = 0;
      if (op == '+' ? __builtin_add_overflow(v, r, &res) : __builtin_sub_overflow(v, r, &res)) {
        math("overflow");
      }
      v = res;
    }
    return v;
  }

  int64_t term(int depth) {
    int64_t v = factor(depth);
    while (ok_) {
      const char op = peek();
      if (op != '*' && op != '/') break;
      ++pos_;
      const int64_t r = factor(depth);
      if (!ok_) break;
      if (!math_ok_) continue;
      if (op == '*') {
        int64_t res = 0;
        if (__builtin_mul_overflow(v, r, &res)) math("overflow");
        v = res;
      } else if (r == 0) {
        math("division by zero");
        v = 0;
      } else if (r == -1) {
        if (__builtin_mul_overflow(v, int64_t(-1), &v)) math("overflow");  // INT64_MIN / -1
      } else if (v % r != 0) {
        math(fmt::format("{}/{} is not exact", v, r));
        v = 0;
      } else {
        v /= r;
      }
    }
    return v;
  }

  int64_t factor(int depth) {
    const char c = peek();
    if (c == '(') {
      if (depth + 1 > lim_.max_depth) {
        syntax(fmt::format("parentheses nested deeper than {}", lim_.max_depth));
        return 0;
      }
      ++pos_;
      const int64_t v = expr(depth + 1);
      if (ok_ && peek() != ')') syntax(fmt::format("missing ')' at {}", pos_));
      if (ok_) ++pos_;
      return v;
    }
    if (c < '0' || c > '9') {
      syntax(c == '\0' ? std::string("unexpected end of expression")
                       : fmt::format("unexpected '{}' at {}", c, pos_));
      return 0;
    }
    const size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    const std::string_view digits = s_.substr(start, pos_ - start);
    if (digits.size() > size_t(lim_.max_digits)) {
      syntax(fmt::format("number with more than {} digits", lim_.max_digits));
      return 0;
    }
    if (digits.size() > 1 && digits[0] == '0') {
      syntax(fmt::format("number with a leading zero at {}", start));
      return 0;
    }
    int64_t v = 0;
    for (char d : digits) v = v * 10 + (d - '0');
    out_.numbers.push_back(v);
    return v;
  }

  std::string_view s_;
  const ExpressionLimits& lim_;
  Expression& out_;
  size_t pos_ = 0;
  bool ok_ = true, math_ok_ = true;
};

}  // namespace

Expression evaluate_expression(std::string_view text, const ExpressionLimits& limits) {
  Expression out;
  Parser(text, limits, out).run();
  if (!out.parsed) out.numbers.clear();
  return out;
}

}  // namespace tandem::tasks
