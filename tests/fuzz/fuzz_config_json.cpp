// libFuzzer target for config.json parsing. Any text must either give a valid ModelConfig or throw
// tandem::Error; a crash, a sanitizer report or any other exception is a bug. A config that parses
// must save and load back to the same config.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tandem/core/error.h"
#include "tandem/io/config_json.h"

using namespace tandem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ModelConfig c;
  try {
    c = parse_model_config(text, "fuzz/config.json");
  } catch (const Error&) {
    return 0;  // rejected cleanly: fine
  }
  // Errors from here on are bugs and escape to libFuzzer (an uncaught exception aborts).
  const std::string saved = format_model_config(c, "bfloat16");
  const ModelConfig back = parse_model_config(saved, "round trip");
  if (format_model_config(back, "bfloat16") != saved) __builtin_trap();
  return 0;
}
