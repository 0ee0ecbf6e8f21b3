// libFuzzer target for model.safetensors.index.json, the map from tensor names to shard files.
// Any text must either parse into an index whose shard names are plain *.safetensors file names
// (so a hostile index cannot reach outside the model directory), or throw tandem::Error; a crash,
// a sanitizer report or any other exception is a bug. A parsed index must survive a format/parse
// round trip unchanged.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tandem/core/error.h"
#include "tandem/io/weight_files.h"

using namespace tandem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ShardIndex index;
  try {
    index = parse_shard_index(text, "fuzz/model.safetensors.index.json");
  } catch (const Error&) {
    return 0;  // rejected cleanly: fine
  }
  // Errors from here on are bugs and escape to libFuzzer (an uncaught exception aborts).
  if (index.weight_map.empty()) __builtin_trap();
  for (const auto& [tensor, file] : index.weight_map) {
    if (tensor.empty() || !file.ends_with(".safetensors") || file.size() <= 12 ||
        file.find('/') != std::string::npos || file.find('\0') != std::string::npos)
      __builtin_trap();
  }
  const ShardIndex again = parse_shard_index(format_shard_index(index), "round trip");
  if (again.weight_map != index.weight_map || again.total_size != index.total_size)
    __builtin_trap();
  return 0;
}
