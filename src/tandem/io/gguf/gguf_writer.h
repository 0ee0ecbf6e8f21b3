#pragma once
// Writes GGUF v3 files (see gguf_format.h). Metadata keeps insertion order, general.alignment
// first; tensors are laid out in insertion order, each at a multiple of the alignment with zero
// padding between them and after the last, as ggml's own writer does.
#include <cstdint>
#include <string>
#include <vector>

#include "tandem/io/gguf/gguf_format.h"

namespace tandem::gguf {

class GgufWriter {
 public:
  // alignment: a power of two, multiple of 8 (the spec's rule); recorded as general.alignment.
  explicit GgufWriter(uint32_t alignment = kDefaultAlignment);

  // Adds or replaces (in place) a key. Keys are non-empty, at most 65535 bytes; general.alignment
  // is the constructor's. Arrays of arrays are not written (ggml does not read them).
  void set(std::string key, Value value);
  const std::vector<KeyValue>& metadata() const { return kv_; }

  // A float32 tensor, converted to `type` when the file is written (data must stay valid until
  // then). ne is in ggml order (ne[0] = row length), 1 to 4 dimensions, ne[0] a multiple of the
  // type's block size. Names are unique, 1 to 63 bytes.
  void add_f32(std::string name, std::vector<uint64_t> ne, TensorType type, const float* data);
  // A tensor already encoded: tensor_bytes(type, numel) bytes, copied when the file is written.
  void add_encoded(std::string name, std::vector<uint64_t> ne, TensorType type, const void* bytes);

  // Writes atomically (temporary file, fsync, rename); errors name the path.
  void write(const std::string& path) const;
  std::string to_bytes() const;  // the same bytes, in memory

 private:
  struct Entry {
    std::string name;
    std::vector<uint64_t> ne;
    TensorType type;
    const float* f32;     // converted on write, or
    const void* encoded;  // copied as is
    uint64_t numel;
    uint64_t nbytes;
  };
  void add(Entry e);
  template <typename Sink>
  void emit(Sink&& sink) const;

  uint32_t alignment_;
  std::vector<KeyValue> kv_;
  std::vector<Entry> tensors_;
};

}  // namespace tandem::gguf
