#pragma once
// Writing safetensors files (the format and the reader are in safetensors.h): tensors collected
// from memory, laid out the way the reference implementation and HF load them.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tandem/io/safetensors.h"

namespace tandem {

// Collects tensors, then writes a file the reference implementation and HF load. The tensor data
// is referenced, not copied: it must stay valid until write(). Layout: the header is padded with
// spaces to a multiple of 8 bytes; tensors are laid out contiguously (the format allows no gaps)
// ordered by element size, largest first, then in insertion order, so each tensor starts aligned
// to its element size. The header lists them in that same order, after "__metadata__".
class SafetensorsWriter {
 public:
  void add(std::string name, DType dtype, std::vector<int64_t> shape, const void* data);
  void add_f32(std::string name, std::vector<int64_t> shape, const float* data) {
    add(std::move(name), DType::F32, std::move(shape), data);
  }
  void set_metadata(std::string key, std::string value);

  // Writes atomically (temporary file, fsync, rename); I/O errors throw naming the path.
  void write(const std::string& path) const;
  std::string to_bytes() const;  // the same bytes, in memory

 private:
  struct Entry {
    TensorInfo info;
    const void* data;
  };
  template <typename Sink>
  void emit(Sink&& sink) const;

  std::vector<Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace tandem
