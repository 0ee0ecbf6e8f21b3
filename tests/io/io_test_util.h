#pragma once
// Helpers shared by the io tests (and the gguf tests): the test-support headers they all use (a
// fresh folder per test, raw file writing, the clean-failure assertion) and raw safetensors bytes.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "support/expect_error.h"
#include "support/temp_files.h"

namespace tandem::test {

// A safetensors file from a header text and a data buffer, header length as given (no padding).
inline std::string raw_safetensors(std::string_view header, std::string_view buffer) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  out.append(header);
  out.append(buffer);
  return out;
}

}  // namespace tandem::test
