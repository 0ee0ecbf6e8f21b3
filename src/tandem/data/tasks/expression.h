#pragma once
// A safe reader for countdown answers: a hand-written recursive-descent parser over
//   expr := term (('+' | '-') term)*     term := factor (('*' | '/') factor)*
//   factor := number | '(' expr ')'      number := '0' | [1-9][0-9]*
// with spaces allowed between tokens, no unary minus, and exact integer arithmetic: a division
// must leave no remainder. Bounded length, nesting and literal size; never throws.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::tasks {

struct ExpressionLimits {
  size_t max_length = 128;  // bytes of the whole expression
  int max_depth = 16;       // nested parentheses
  int max_digits = 6;       // digits in one number
};

struct Expression {
  bool parsed = false;           // the text fits the grammar and the limits
  bool evaluated = false;        // parsed, and no division by zero / remainder / overflow
  int64_t value = 0;             // valid when evaluated
  std::vector<int64_t> numbers;  // the literals in order of appearance
  std::string error;             // the first problem found, for logs
};

Expression evaluate_expression(std::string_view text, const ExpressionLimits& limits = {});

}  // namespace tandem::tasks
