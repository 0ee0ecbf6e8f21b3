#pragma once
// Errors: library code never exits or aborts; it throws tandem::Error with a message that names
// the place (op, file, field) and what was expected. The CLI turns it into one line + exit code.
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace tandem {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// A user-facing mistake in how a command was called (bad flag, bad value): exit code 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

// Recipes name a setting by its config field in backticks (`group_size`), in errors and notes
// alike; whoever took the settings from a person shows them in that person's terms (the command
// line: its flags, --group-size). Replaces each `field` in text by name(field).
template <typename NameOf>
std::string name_fields(const std::string& text, NameOf&& name) {
  std::string out;
  size_t at = 0;
  while (true) {
    const size_t open = text.find('`', at);
    const size_t close = open == std::string::npos ? open : text.find('`', open + 1);
    if (close == std::string::npos) return out + text.substr(at);
    out += text.substr(at, open - at) + name(text.substr(open + 1, close - open - 1));
    at = close + 1;
  }
}

// A problem with a job's settings, in the job's own terms (fields in backticks, see above).
// what() quotes the field names; the CLI shows its flags instead.
class ConfigError : public Error {
 public:
  explicit ConfigError(const std::string& message)
      : Error(name_fields(message, [](const std::string& f) { return "'" + f + "'"; })),
        message_(message) {}
  const std::string& message() const { return message_; }
  // The same error about a nested job's settings, which the caller calls prefix + field.
  ConfigError prefixed(const std::string& prefix) const {
    return ConfigError(name_fields(message_, [&](const std::string& f) { return "`" + prefix + f + "`"; }));
  }

 private:
  std::string message_;
};

template <typename... Args>
[[noreturn]] void config_fail(fmt::format_string<Args...> f, Args&&... args) {
  throw ConfigError(fmt::format(f, std::forward<Args>(args)...));
}

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace tandem

// TANDEM_CHECK(cond, "[op] message {}", x): throws tandem::Error when cond is false.
#define TANDEM_CHECK(cond, ...)          \
  do {                                   \
    if (!(cond)) ::tandem::fail(__VA_ARGS__); \
  } while (0)
