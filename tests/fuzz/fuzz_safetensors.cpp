// libFuzzer target for the safetensors reader. Any bytes must either parse into tensors that lie
// inside the buffer, or throw tandem::Error; a crash, a sanitizer report or any other exception
// is a bug. A file that parses must also survive a writer round trip unchanged.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

#include "tandem/core/error.h"
#include "tandem/io/safetensors.h"
#include "tandem/io/safetensors_writer.h"

using namespace tandem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::optional<SafetensorsReader> reader;
  try {
    reader.emplace(SafetensorsReader::from_bytes(bytes, "fuzz.safetensors"));
  } catch (const Error&) {
    return 0;  // rejected cleanly: fine
  }
  const SafetensorsReader& r = *reader;
  SafetensorsWriter w;
  std::vector<float> f32;
  for (const TensorInfo& t : r.tensors()) {
    const std::byte* p = r.data(t);
    unsigned sum = 0;
    for (uint64_t i = 0; i < t.nbytes; ++i) sum += unsigned(p[i]);  // ASan checks every byte
    asm volatile("" : : "r"(sum));
    if (t.dtype == DType::F32 || t.dtype == DType::F16 || t.dtype == DType::BF16) {
      f32.resize(size_t(t.numel()));
      r.read_f32(t.name, t.shape, f32.data());
    }
    w.add(t.name, t.dtype, t.shape, p);
  }
  for (const auto& [k, v] : r.metadata()) w.set_metadata(k, v);

  // Errors from here on are bugs and escape to libFuzzer (an uncaught exception aborts).
  const auto again = SafetensorsReader::from_bytes(w.to_bytes(), "round trip");
  if (again.tensors().size() != r.tensors().size() || again.metadata() != r.metadata()) {
    __builtin_trap();
  }
  for (const TensorInfo& t : r.tensors()) {
    const TensorInfo& u = again.get(t.name);
    if (u.dtype != t.dtype || u.shape != t.shape || u.nbytes != t.nbytes ||
        (t.nbytes && std::memcmp(again.data(u), r.data(t), t.nbytes) != 0)) {
      __builtin_trap();
    }
  }
  return 0;
}
