#pragma once
// The one assertion for a call that must fail cleanly: it throws tandem::Error whose message is
// one line and contains given parts. expect_open_error is its form for loaders of damaged files:
// the bytes go to a file first, and the message must name that file too.
#include <gtest/gtest.h>

#include <exception>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/temp_files.h"
#include "tandem/core/error.h"

namespace tandem::test {

// Runs fn, expects tandem::Error whose message is one line and contains every part; returns it.
inline std::string expect_error(const std::function<void()>& fn,
                                std::vector<std::string_view> parts) {
  try {
    fn();
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "not one line: " << msg;
    for (const auto part : parts) {
      EXPECT_NE(msg.find(part), std::string::npos) << "'" << part << "' not in: " << msg;
    }
    return msg;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw a non-tandem exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "did not throw";
  return "";
}

// Writes `bytes` to `file_name` in this test's folder, calls open(path) and expects a clean
// failure (as expect_error) whose message names the path and every part; returns the message.
inline std::string expect_open_error(const std::function<void(const std::string& path)>& open,
                                     const std::string& file_name, std::string_view bytes,
                                     std::vector<std::string_view> parts) {
  const std::string path = temp_dir() + "/" + file_name;
  write_raw(path, bytes);
  parts.push_back(path);
  return expect_error([&] { open(path); }, std::move(parts));
}

}  // namespace tandem::test
