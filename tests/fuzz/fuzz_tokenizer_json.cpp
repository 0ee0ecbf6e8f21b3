// libFuzzer harness for the tokenizer.json loader: any input must either load or throw
// tandem::Error (never crash, hang or leak); a file that loads must encode and decode text and
// survive its own save/load round trip.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tandem/core/error.h"
#include "tandem/tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const tandem::Tokenizer tok = tandem::Tokenizer::from_json_string(text, "fuzz.json");
    const std::string sample = "Hello <|im_start|> wörld's 123 \xFF\r\n  tab\t你好";
    const auto ids = tok.encode(sample);
    (void)tok.decode(ids);
    const auto again = tandem::Tokenizer::from_json(nlohmann::json::parse(tok.to_json().dump()));
    if (again.encode(sample) != ids) __builtin_trap();  // a round trip must not change encoding
  } catch (const tandem::Error&) {
    // Rejected with a message: the expected outcome for malformed input.
  }
  return 0;
}
