#pragma once
// The safetensors checkpoint format (the one HF uses): an 8-byte little-endian header length N,
// N bytes of JSON header
//   {"__metadata__": {str: str}, "name": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}}
// then the data buffer; offsets are relative to the buffer start.
//
// The reader maps the file read-only and validates everything before handing out a pointer, so a
// damaged or hostile file gives a one-line tandem::Error naming the file and the tensor or field,
// never a crash. It is as strict as the reference implementation: the tensors must tile the data
// buffer exactly (no overlap, no gap, nothing after the last one), so whatever we accept, HF
// tooling accepts too. The writer is in safetensors_writer.h; this file holds the reader and the
// format pieces both use.
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/io/mapped_file.h"

namespace tandem {

enum class DType { F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL };

size_t dtype_size(DType d);
std::string_view dtype_name(DType d);  // as in the header: "F32", "BF16", ...
// A name from an untrusted file made fit for a one-line error: control bytes escaped, cut at 200.
std::string printable_name(std::string_view s);
// A shape as errors print it: "[2, 3]".
std::string shape_str(std::span<const int64_t> shape);
// The element count and byte size of a tensor of `shape` and `d`; false when a dimension is
// negative or either number overflows (the element count must fit in int64).
bool shape_bytes(std::span<const int64_t> shape, DType d, uint64_t* numel, uint64_t* nbytes);

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t offset = 0;  // from the start of the data buffer
  uint64_t nbytes = 0;
  int64_t numel() const;
};

class SafetensorsReader {
 public:
  // Maps `path`; throws tandem::Error "<path>: ..." on any I/O or format problem.
  static SafetensorsReader open(const std::string& path);
  // Parses a copy of `bytes` held in memory (tests, fuzzers); `where` stands in for the path.
  static SafetensorsReader from_bytes(std::string_view bytes, std::string where);

  SafetensorsReader(SafetensorsReader&&) noexcept = default;
  SafetensorsReader& operator=(SafetensorsReader&&) noexcept = default;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // in file (offset) order
  const TensorInfo* find(std::string_view name) const;                 // nullptr when absent
  const TensorInfo& get(std::string_view name) const;  // throws naming the file and tensor
  const std::byte* data(const TensorInfo& t) const;    // t.nbytes bytes, aligned as in the file

  // Copies tensor `name` into dst (numel floats), converting F32/F16/BF16 to float32. Throws when
  // the tensor is missing, of another dtype, or its shape differs from `expected_shape`. The
  // tensor's mapped pages are let go after the copy (MappedFile::drop_pages).
  void read_f32(std::string_view name, std::span<const int64_t> expected_shape, float* dst) const;

  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return path_; }

 private:
  SafetensorsReader() = default;
  void parse();  // validates the bytes of file_ and fills the tables
  const std::byte* base() const { return file_.data(); }

  std::string path_;
  MappedFile file_;               // the mapped file, or the bytes given to from_bytes
  size_t data_start_ = 0;         // 8 + header length
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> index_;  // name -> position in tensors_
  std::map<std::string, std::string> metadata_;
};

}  // namespace tandem
