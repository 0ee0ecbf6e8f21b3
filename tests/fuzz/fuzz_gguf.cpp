// libFuzzer target for the GGUF reader (io/gguf). Any bytes must either parse into tensors that
// lie inside the buffer, or throw tandem::Error; a crash, a sanitizer report or any other
// exception is a bug. A file that parses must survive a writer round trip unchanged, and its
// tokenizer metadata must either load or be rejected with tandem::Error.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

#include "tandem/core/error.h"
#include "tandem/io/gguf/gguf_reader.h"
#include "tandem/io/gguf/gguf_tokenizer.h"
#include "tandem/io/gguf/gguf_writer.h"

using namespace tandem;
using namespace tandem::gguf;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::optional<GgufReader> reader;
  try {
    reader.emplace(GgufReader::from_bytes(bytes, "fuzz.gguf"));
  } catch (const Error&) {
    return 0;  // rejected cleanly: fine
  }
  const GgufReader& r = *reader;
  std::vector<float> f32;
  for (const TensorEntry& t : r.tensors()) {
    const std::byte* p = r.data(t);
    unsigned sum = 0;
    for (uint64_t i = 0; i < t.nbytes; ++i) sum += unsigned(p[i]);  // ASan checks every byte
    asm volatile("" : : "r"(sum));
    f32.resize(size_t(t.numel()));
    r.read_f32(t.name, t.ne, f32.data());
  }
  for (const KeyValue& kv : r.metadata()) {  // typed reads either succeed or throw Error
    const Value& v = kv.value;
    try {
      v.as_int("k");
    } catch (const Error&) {
    }
    try {
      v.as_float("k");
    } catch (const Error&) {
    }
    try {
      v.as_ints("k");
    } catch (const Error&) {
    }
    try {
      v.as_floats("k");
    } catch (const Error&) {
    }
    (void)v.summary();
  }
  try {
    const Tokenizer tok = read_tokenizer(r);
    (void)tok.encode("Hello <|im_start|> world 123");
  } catch (const Error&) {
  }

  // Errors from here on are bugs and escape to libFuzzer (an uncaught exception aborts).
  GgufWriter w;
  for (const KeyValue& kv : r.metadata())
    if (kv.key != "general.alignment") w.set(kv.key, kv.value);
  for (const TensorEntry& t : r.tensors()) w.add_encoded(t.name, t.ne, t.type, r.data(t));
  const auto again = GgufReader::from_bytes(w.to_bytes(), "round trip");
  if (again.tensors().size() != r.tensors().size()) __builtin_trap();
  for (const KeyValue& kv : r.metadata()) {
    if (kv.key == "general.alignment") continue;
    const Value* v = again.find(kv.key);
    if (!v || !(*v == kv.value)) __builtin_trap();
  }
  for (const TensorEntry& t : r.tensors()) {
    const TensorEntry& u = again.get_tensor(t.name);
    if (u.type != t.type || u.ne != t.ne || u.nbytes != t.nbytes ||
        (t.nbytes && std::memcmp(again.data(u), r.data(t), t.nbytes) != 0)) {
      __builtin_trap();
    }
  }
  return 0;
}
