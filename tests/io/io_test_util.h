#pragma once
// Helpers shared by the io tests: a fresh temporary folder per test, raw file writing, and an
// assertion that a call throws tandem::Error with a one-line message containing given parts.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>

#include "tandem/core/error.h"

namespace tandem::test {

// A folder unique to this test (and process), emptied first.
inline std::string temp_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) /
                              (std::string("tandem_io_") + info->test_suite_name() + "_" +
                               info->name() + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

inline void write_raw(const std::string& path, std::string_view bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), std::streamsize(bytes.size()));
  ASSERT_TRUE(f.good()) << path;
}

// A safetensors file from a header text and a data buffer, header length as given (no padding).
inline std::string raw_safetensors(std::string_view header, std::string_view buffer) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  out.append(header);
  out.append(buffer);
  return out;
}

// Runs fn, expects tandem::Error whose message is one line and contains every part; returns it.
inline std::string expect_error(const std::function<void()>& fn,
                                std::initializer_list<std::string_view> parts) {
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

}  // namespace tandem::test
