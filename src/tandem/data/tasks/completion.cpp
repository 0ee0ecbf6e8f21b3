#include "tandem/data/tasks/completion.h"

#include <fmt/format.h>

namespace tandem::tasks {
namespace {

constexpr std::string_view kOpen = "<think>\n";
constexpr std::string_view kClose = "</think>";
constexpr std::string_view kAnswer = "Answer: ";

size_t count(std::string_view text, std::string_view needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string_view::npos;
       at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

Envelope reject(std::string reason) {
  Envelope e;
  e.reason = std::move(reason);
  return e;
}

}  // namespace

std::string format_completion(std::string_view steps, std::string_view answer) {
  return fmt::format("<think>\n{}\n</think>\nAnswer: {}", steps, answer);
}

Envelope parse_envelope(std::string_view c) {
  if (c.empty()) return reject("empty completion");
  if (c.size() > kMaxCompletionBytes) {
    return reject(fmt::format("completion longer than {} bytes", kMaxCompletionBytes));
  }
  // Printable ASCII and '\n' only: the ideal completion never needs anything else, and it rules
  // out look-alike characters, carriage returns, tabs and NULs in one place.
  for (size_t i = 0; i < c.size(); ++i) {
    const unsigned char b = c[i];
    if (b != '\n' && (b < 0x20 || b > 0x7e)) {
      return reject(fmt::format("byte 0x{:02x} at offset {} is not printable ASCII", b, i));
    }
  }
  if (!c.starts_with(kOpen)) return reject("must start with \"<think>\\n\"");
  if (count(c, "<think>") != 1) return reject("<think> appears more than once");
  const size_t n_close = count(c, kClose);
  if (n_close == 0) return reject("missing </think>");
  if (n_close > 1) return reject("</think> appears more than once");
  const size_t close = c.find(kClose);
  // "</think>" sits on its own line: preceded by the steps' final '\n' (not the opening one),
  // followed by '\n'.
  if (close < kOpen.size() + 1 || c[close - 1] != '\n') {
    return reject("</think> must start a line after at least one step line");
  }
  if (close + kClose.size() >= c.size() || c[close + kClose.size()] != '\n') {
    return reject("</think> must be followed by a newline");
  }
  const size_t n_answers = count(c, "Answer:");
  if (n_answers > 1) return reject("more than one \"Answer:\"");
  std::string_view rest = c.substr(close + kClose.size() + 1);
  if (!rest.starts_with(kAnswer)) {
    if (n_answers == 1 && c.find("Answer:") < close) return reject("answer only inside <think>");
    return reject("missing \"Answer: \" line right after </think>");
  }
  rest.remove_prefix(kAnswer.size());
  if (rest.ends_with('\n')) rest.remove_suffix(1);  // one trailing newline is allowed
  if (rest.empty()) return reject("empty answer");
  if (rest.find('\n') != std::string_view::npos) return reject("text after the answer line");
  if (rest.front() == ' ' || rest.back() == ' ') {
    return reject("answer has leading or trailing spaces");
  }
  Envelope e;
  e.ok = true;
  e.steps = c.substr(kOpen.size(), close - 1 - kOpen.size());
  e.answer = rest;
  return e;
}

std::optional<int64_t> parse_canonical_int(std::string_view text, std::string* reason) {
  auto fail = [&](std::string why) -> std::optional<int64_t> {
    if (reason) *reason = std::move(why);
    return std::nullopt;
  };
  std::string_view digits = text;
  const bool negative = digits.starts_with('-');
  if (negative) digits.remove_prefix(1);
  if (digits.empty()) return fail("answer is not an integer");
  for (char ch : digits) {
    if (ch < '0' || ch > '9') return fail(fmt::format("answer is not an integer: '{}'", text));
  }
  if (digits.size() > size_t(kMaxIntegerDigits)) {
    return fail(fmt::format("answer has more than {} digits", kMaxIntegerDigits));
  }
  if (digits.size() > 1 && digits.front() == '0') return fail("answer has a leading zero");
  if (negative && digits == "0") return fail("answer is \"-0\"");
  int64_t value = 0;
  for (char ch : digits) value = value * 10 + (ch - '0');
  return negative ? -value : value;
}

}  // namespace tandem::tasks
