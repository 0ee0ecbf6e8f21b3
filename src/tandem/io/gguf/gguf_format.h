#pragma once
// GGUF, the single-file model format of ggml and llama.cpp (spec: ggml's docs/gguf.md), version 3,
// little-endian:
//   "GGUF" u32 version, u64 tensor_count, u64 kv_count,
//   kv_count x (string key, u32 value_type, value),
//   tensor_count x (string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset),
//   zero padding to general.alignment (default 32), tensor data (each tensor at an aligned
//   offset relative to the data start).
// A string is u64 byte length + UTF-8 bytes; an array is u32 element type + u64 count + elements.
// Dimensions are in ggml order: ne[0] is the innermost (row) length, so an HF weight of shape
// (out, in) has ne = {in, out}.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::gguf {

inline constexpr char kMagic[4] = {'G', 'G', 'U', 'F'};
inline constexpr uint32_t kVersion = 3;
inline constexpr uint32_t kDefaultAlignment = 32;
inline constexpr size_t kMaxDims = 4;                // GGML_MAX_DIMS
inline constexpr size_t kMaxNameBytes = 63;          // GGML_MAX_NAME (64) less the terminating NUL
inline constexpr size_t kMaxKeyBytes = 65535;        // a metadata key's length (our limit)
inline constexpr uint32_t kQuantizationVersion = 2;  // GGML_QNT_VERSION: Q4_0/Q8_0 as below

enum class ValueType : uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
};
std::string_view value_type_name(ValueType t);  // "u32", "string", ...; "?" when out of range
bool valid_value_type(uint32_t raw);
// Bytes of one fixed-size element (0 for String and Array).
size_t value_type_size(ValueType t);

// The ggml tensor types tandem reads and writes. Others are recognised by name in errors only.
enum class TensorType : uint32_t { F32 = 0, F16 = 1, Q4_0 = 2, Q8_0 = 8, BF16 = 30 };

struct TypeTraits {
  std::string_view name;  // "F32", "Q8_0", ...
  int64_t block_size;     // elements per block (1 for plain floats)
  size_t block_bytes;     // bytes per block
};
// Traits of a supported type; nullopt for any other ggml type id.
std::optional<TypeTraits> type_traits(uint32_t raw);
TypeTraits traits(TensorType t);
// A ggml type's name for messages, also for types tandem does not support ("Q4_K"), or "".
std::string_view ggml_type_name(uint32_t raw);
// "f32", "f16", "bf16", "q8_0", "q4_0" (any case) -> type; throws UsageError otherwise.
TensorType parse_tensor_type(std::string_view s);

// general.file_type (llama_ftype): what most tensors are.
uint32_t file_type_of(TensorType t);

// Bytes of a tensor of n elements; n must be a multiple of the block size.
uint64_t tensor_bytes(TensorType t, uint64_t n);

// One metadata value. Numbers are kept as their bit patterns (floats included), so equality is
// exact; arrays of numbers are kept packed as in the file, arrays of strings as strings.
class Value {
 public:
  Value() = default;
  static Value u8(uint8_t v) { return scalar(ValueType::U8, v); }
  static Value u32(uint32_t v) { return scalar(ValueType::U32, v); }
  static Value i32(int32_t v) { return scalar(ValueType::I32, uint32_t(v)); }
  static Value u64(uint64_t v) { return scalar(ValueType::U64, v); }
  static Value i64(int64_t v) { return scalar(ValueType::I64, uint64_t(v)); }
  static Value f32(float v);
  static Value f64(double v);
  static Value boolean(bool v) { return scalar(ValueType::Bool, v ? 1 : 0); }
  static Value string(std::string v);
  // A scalar of any fixed-size type from its little-endian bits (the low value_type_size bytes).
  static Value scalar(ValueType t, uint64_t bits);
  static Value strings(std::vector<std::string> v);
  static Value i32s(const std::vector<int32_t>& v);
  static Value f32s(const std::vector<float>& v);
  // count elements of fixed-size type `elem`, packed little-endian in `raw`.
  static Value packed(ValueType elem, uint64_t count, std::string raw);

  ValueType type() const { return type_; }
  ValueType elem_type() const { return elem_; }  // arrays only
  uint64_t size() const;                         // array element count (1 for scalars)

  // Typed reads; `where` prefixes the error ("model.gguf: metadata 'x'") on a type mismatch.
  uint64_t as_uint(std::string_view where) const;  // any integer type holding a value >= 0
  int64_t as_int(std::string_view where) const;    // any integer type that fits int64
  double as_float(std::string_view where) const;   // F32 or F64
  bool as_bool(std::string_view where) const;
  const std::string& as_string(std::string_view where) const;
  const std::vector<std::string>& as_strings(std::string_view where) const;
  std::vector<int64_t> as_ints(std::string_view where) const;   // array of any integer type
  std::vector<double> as_floats(std::string_view where) const;  // array of F32 or F64

  // Raw parts, for the writer.
  uint64_t bits() const { return bits_; }
  const std::string& str() const { return str_; }
  const std::string& raw() const { return raw_; }
  const std::vector<std::string>& strs() const { return strs_; }

  // A short rendering for listings: scalars in full, arrays as "[type x count]".
  std::string summary() const;

  bool operator==(const Value&) const = default;

 private:
  ValueType type_ = ValueType::U32;
  ValueType elem_ = ValueType::U8;  // arrays: element type
  uint64_t bits_ = 0;               // fixed-size scalars
  uint64_t count_ = 0;              // arrays of numbers
  std::string str_;                 // String
  std::string raw_;                 // arrays of numbers, packed
  std::vector<std::string> strs_;   // arrays of strings
};

// An ordered list of key/value pairs (the file keeps the writer's order).
struct KeyValue {
  std::string key;
  Value value;
  bool operator==(const KeyValue&) const = default;
};

}  // namespace tandem::gguf
