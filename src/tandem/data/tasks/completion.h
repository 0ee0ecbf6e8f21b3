#pragma once
// The completion envelope shared by every task, written and read in one place:
//   "<think>\n" + steps + "\n</think>\n" + "Answer: " + answer   [+ at most one "\n"]
// Reading is strict and byte-exact (docs/tasks.md lists every rule), so that the reward cannot be
// gamed by hedging (two answers), by hiding the answer in the scratchpad, or by trailing text.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tandem::tasks {

// Bounds that keep the verifier cheap on adversarial output.
inline constexpr size_t kMaxCompletionBytes = 8192;
inline constexpr int kMaxIntegerDigits = 18;  // fits int64 with room; larger answers are malformed

// Builds the ideal completion from its scratchpad lines (joined by '\n') and the final answer.
std::string format_completion(std::string_view steps, std::string_view answer);

struct Envelope {
  bool ok = false;
  std::string_view steps;   // the text between "<think>\n" and "\n</think>\n"
  std::string_view answer;  // the text after "Answer: ", without the optional trailing newline
  std::string reason;       // why the envelope was rejected
};
// Splits a completion; never throws. The views point into `completion`.
Envelope parse_envelope(std::string_view completion);

// Parses an integer in canonical form: optional '-', no '+', no leading zeros, no "-0", at most
// kMaxIntegerDigits digits. On failure returns nullopt and says why in *reason.
std::optional<int64_t> parse_canonical_int(std::string_view text, std::string* reason);

}  // namespace tandem::tasks
