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
