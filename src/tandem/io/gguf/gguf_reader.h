#pragma once
// Reads GGUF files (versions 2 and 3, little-endian; see gguf_format.h). The file is mapped and
// everything is validated before a pointer is handed out: a damaged or hostile file gives a
// one-line tandem::Error naming the file, the key or tensor, and the byte offset, never a crash
// or an allocation larger than the file could justify. Rejected: a bad magic, other versions,
// truncation anywhere, counts that the remaining bytes cannot hold, duplicate keys or tensors,
// arrays of arrays, bools other than 0/1, tensor types tandem does not decode, rows that are not
// whole blocks, tensor data that is unaligned, overlapping or past the end of the file.
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/io/gguf/gguf_format.h"
#include "tandem/io/mapped_file.h"

namespace tandem::gguf {

struct TensorEntry {
  std::string name;
  std::vector<uint64_t> ne;  // ggml order: ne[0] is the row length
  TensorType type = TensorType::F32;
  uint64_t offset = 0;  // from the start of the data section
  uint64_t nbytes = 0;
  uint64_t numel() const;
  std::vector<int64_t> hf_shape() const;  // ne reversed: the row-major (PyTorch) shape
};

class GgufReader {
 public:
  static GgufReader open(const std::string& path);
  // Parses a copy of `bytes`; `where` stands in for the path in errors.
  static GgufReader from_bytes(std::string_view bytes, std::string where);

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_start_; }  // of the data section in the file
  const std::string& path() const { return path_; }

  const std::vector<KeyValue>& metadata() const { return kv_; }
  const Value* find(std::string_view key) const;  // nullptr when absent
  const Value& get(std::string_view key) const;   // throws "<path>: missing metadata key 'k'"
  // "<path>: metadata 'key'", the prefix typed reads give their errors.
  std::string where(std::string_view key) const;
  uint64_t get_uint(std::string_view key) const { return get(key).as_uint(where(key)); }
  double get_float(std::string_view key) const { return get(key).as_float(where(key)); }
  bool get_bool(std::string_view key) const { return get(key).as_bool(where(key)); }
  const std::string& get_string(std::string_view key) const {
    return get(key).as_string(where(key));
  }

  const std::vector<TensorEntry>& tensors() const { return tensors_; }  // in header order
  const TensorEntry* find_tensor(std::string_view name) const;          // nullptr when absent
  const TensorEntry& get_tensor(std::string_view name) const;           // throws naming both
  const std::byte* data(const TensorEntry& t) const;                    // t.nbytes bytes
  // The tensor as float32 (dequantized), numel floats into dst. With expected_ne non-empty, the
  // tensor's dimensions must equal it (the error names the tensor and both shapes).
  void read_f32(std::string_view name, std::span<const uint64_t> expected_ne, float* dst) const;
  std::vector<float> read_f32(const TensorEntry& t) const;

 private:
  GgufReader() = default;
  void parse();

  std::string path_;
  MappedFile file_;
  uint32_t version_ = 0;
  uint32_t alignment_ = kDefaultAlignment;
  uint64_t data_start_ = 0;
  std::vector<KeyValue> kv_;
  std::map<std::string, size_t, std::less<>> kv_index_;
  std::vector<TensorEntry> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
};

}  // namespace tandem::gguf
