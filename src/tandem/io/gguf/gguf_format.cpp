#include "tandem/io/gguf/gguf_format.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstring>

#include "tandem/core/error.h"

namespace tandem::gguf {

static_assert(std::endian::native == std::endian::little, "GGUF I/O assumes little-endian");

namespace {

// ggml's type ids and names (ggml.h), so an unsupported type is named in errors.
constexpr std::string_view kGgmlNames[] = {
    "F32",   "F16",        "Q4_0",       "Q4_1",       "Q4_2",     "Q4_3",     "Q5_0",
    "Q5_1",  "Q8_0",       "Q8_1",       "Q2_K",       "Q3_K",     "Q4_K",     "Q5_K",
    "Q6_K",  "Q8_K",       "IQ2_XXS",    "IQ2_XS",     "IQ3_XXS",  "IQ1_S",    "IQ4_NL",
    "IQ3_S", "IQ2_S",      "IQ4_XS",     "I8",         "I16",      "I32",      "I64",
    "F64",   "IQ1_M",      "BF16",       "Q4_0_4_4",   "Q4_0_4_8", "Q4_0_8_8", "TQ1_0",
    "TQ2_0", "IQ4_NL_4_4", "IQ4_NL_4_8", "IQ4_NL_8_8", "MXFP4"};

}  // namespace

std::string_view value_type_name(ValueType t) {
  constexpr std::string_view names[] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                        "bool", "string", "array", "u64", "i64", "f64"};
  const auto i = uint32_t(t);
  return i < std::size(names) ? names[i] : "?";
}

bool valid_value_type(uint32_t raw) {
  return raw <= uint32_t(ValueType::F64);
}

size_t value_type_size(ValueType t) {
  switch (t) {
    case ValueType::U8:
    case ValueType::I8:
    case ValueType::Bool:
      return 1;
    case ValueType::U16:
    case ValueType::I16:
      return 2;
    case ValueType::U32:
    case ValueType::I32:
    case ValueType::F32:
      return 4;
    case ValueType::U64:
    case ValueType::I64:
    case ValueType::F64:
      return 8;
    case ValueType::String:
    case ValueType::Array:
      return 0;
  }
  return 0;
}

std::optional<TypeTraits> type_traits(uint32_t raw) {
  switch (TensorType(raw)) {
    case TensorType::F32:
      return TypeTraits{"F32", 1, 4};
    case TensorType::F16:
      return TypeTraits{"F16", 1, 2};
    case TensorType::BF16:
      return TypeTraits{"BF16", 1, 2};
    case TensorType::Q8_0:
      return TypeTraits{"Q8_0", 32, 2 + 32};  // f16 scale + 32 int8
    case TensorType::Q4_0:
      return TypeTraits{"Q4_0", 32, 2 + 16};  // f16 scale + 32 nibbles
  }
  return std::nullopt;
}

TypeTraits traits(TensorType t) {
  const auto tr = type_traits(uint32_t(t));
  TANDEM_CHECK(tr.has_value(), "gguf: invalid tensor type {}", uint32_t(t));
  return *tr;
}

std::string_view ggml_type_name(uint32_t raw) {
  return raw < std::size(kGgmlNames) ? kGgmlNames[raw] : std::string_view();
}

TensorType parse_tensor_type(std::string_view s) {
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  if (lower == "f32") return TensorType::F32;
  if (lower == "f16") return TensorType::F16;
  if (lower == "bf16") return TensorType::BF16;
  if (lower == "q8_0") return TensorType::Q8_0;
  if (lower == "q4_0") return TensorType::Q4_0;
  throw UsageError(
      fmt::format("unknown GGUF type '{}' (expected f32, f16, bf16, q8_0 or q4_0)", s));
}

uint32_t file_type_of(TensorType t) {
  switch (t) {
    case TensorType::F32:
      return 0;  // LLAMA_FTYPE_ALL_F32
    case TensorType::F16:
      return 1;  // MOSTLY_F16
    case TensorType::Q4_0:
      return 2;  // MOSTLY_Q4_0
    case TensorType::Q8_0:
      return 7;  // MOSTLY_Q8_0
    case TensorType::BF16:
      return 32;  // MOSTLY_BF16
  }
  fail("gguf: invalid tensor type {}", uint32_t(t));
}

uint64_t tensor_bytes(TensorType t, uint64_t n) {
  const TypeTraits tr = traits(t);
  TANDEM_CHECK(n % uint64_t(tr.block_size) == 0,
               "gguf: {} elements are not a whole number of {} blocks of {}", n, tr.name,
               tr.block_size);
  return n / uint64_t(tr.block_size) * tr.block_bytes;
}

// ---------------------------------------------------------------------------------------------
// Value

Value Value::scalar(ValueType t, uint64_t bits) {
  const size_t n = value_type_size(t);
  TANDEM_CHECK(n > 0, "gguf: {} is not a fixed-size scalar type", value_type_name(t));
  Value v;
  v.type_ = t;
  v.bits_ = n == 8 ? bits : bits & ((uint64_t{1} << (8 * n)) - 1);
  return v;
}

Value Value::f32(float x) {
  return scalar(ValueType::F32, std::bit_cast<uint32_t>(x));
}

Value Value::f64(double x) {
  return scalar(ValueType::F64, std::bit_cast<uint64_t>(x));
}

Value Value::string(std::string s) {
  Value v;
  v.type_ = ValueType::String;
  v.str_ = std::move(s);
  return v;
}

Value Value::strings(std::vector<std::string> s) {
  Value v;
  v.type_ = ValueType::Array;
  v.elem_ = ValueType::String;
  v.strs_ = std::move(s);
  return v;
}

Value Value::packed(ValueType elem, uint64_t count, std::string raw) {
  const size_t n = value_type_size(elem);
  TANDEM_CHECK(n > 0, "gguf: packed arrays hold fixed-size numbers, not {}", value_type_name(elem));
  TANDEM_CHECK(raw.size() / n == count && raw.size() % n == 0,
               "gguf: {} bytes do not hold {} values of type {}", raw.size(), count,
               value_type_name(elem));
  Value v;
  v.type_ = ValueType::Array;
  v.elem_ = elem;
  v.count_ = count;
  v.raw_ = std::move(raw);
  return v;
}

Value Value::i32s(const std::vector<int32_t>& x) {
  std::string raw(x.size() * 4, '\0');
  if (!x.empty()) std::memcpy(raw.data(), x.data(), raw.size());
  return packed(ValueType::I32, x.size(), std::move(raw));
}

Value Value::f32s(const std::vector<float>& x) {
  std::string raw(x.size() * 4, '\0');
  if (!x.empty()) std::memcpy(raw.data(), x.data(), raw.size());
  return packed(ValueType::F32, x.size(), std::move(raw));
}

uint64_t Value::size() const {
  if (type_ != ValueType::Array) return 1;
  return elem_ == ValueType::String ? strs_.size() : count_;
}

namespace {

bool is_int(ValueType t) {
  switch (t) {
    case ValueType::U8:
    case ValueType::I8:
    case ValueType::U16:
    case ValueType::I16:
    case ValueType::U32:
    case ValueType::I32:
    case ValueType::U64:
    case ValueType::I64:
      return true;
    default:
      return false;
  }
}

bool is_signed(ValueType t) {
  return t == ValueType::I8 || t == ValueType::I16 || t == ValueType::I32 || t == ValueType::I64;
}

// An integer's bits widened to int64 (sign-extended for signed types; u64 above INT64_MAX wraps,
// which callers check first).
int64_t widen(ValueType t, uint64_t bits) {
  const size_t n = value_type_size(t);
  if (!is_signed(t) || n == 8) return int64_t(bits);
  const unsigned shift = unsigned(64 - 8 * n);
  return int64_t(bits << shift) >> shift;
}

double float_of(ValueType t, uint64_t bits) {
  return t == ValueType::F32 ? double(std::bit_cast<float>(uint32_t(bits)))
                             : std::bit_cast<double>(bits);
}

std::string type_desc(const Value& v) {
  if (v.type() != ValueType::Array) return std::string(value_type_name(v.type()));
  return fmt::format("array of {}", value_type_name(v.elem_type()));
}

}  // namespace

uint64_t Value::as_uint(std::string_view where) const {
  TANDEM_CHECK(is_int(type_), "{}: expected an unsigned integer, found {}", where,
               type_desc(*this));
  TANDEM_CHECK(!is_signed(type_) || widen(type_, bits_) >= 0,
               "{}: expected an integer >= 0, found {}", where, widen(type_, bits_));
  return bits_;
}

int64_t Value::as_int(std::string_view where) const {
  TANDEM_CHECK(is_int(type_), "{}: expected an integer, found {}", where, type_desc(*this));
  TANDEM_CHECK(type_ != ValueType::U64 || bits_ <= uint64_t(INT64_MAX),
               "{}: {} does not fit a signed 64-bit integer", where, bits_);
  return widen(type_, bits_);
}

double Value::as_float(std::string_view where) const {
  TANDEM_CHECK(type_ == ValueType::F32 || type_ == ValueType::F64, "{}: expected a float, found {}",
               where, type_desc(*this));
  return float_of(type_, bits_);
}

bool Value::as_bool(std::string_view where) const {
  TANDEM_CHECK(type_ == ValueType::Bool, "{}: expected a bool, found {}", where, type_desc(*this));
  return bits_ != 0;
}

const std::string& Value::as_string(std::string_view where) const {
  TANDEM_CHECK(type_ == ValueType::String, "{}: expected a string, found {}", where,
               type_desc(*this));
  return str_;
}

const std::vector<std::string>& Value::as_strings(std::string_view where) const {
  TANDEM_CHECK(type_ == ValueType::Array && elem_ == ValueType::String,
               "{}: expected an array of strings, found {}", where, type_desc(*this));
  return strs_;
}

std::vector<int64_t> Value::as_ints(std::string_view where) const {
  TANDEM_CHECK(type_ == ValueType::Array && is_int(elem_),
               "{}: expected an array of integers, found {}", where, type_desc(*this));
  const size_t n = value_type_size(elem_);
  std::vector<int64_t> out(count_);
  for (uint64_t i = 0; i < count_; ++i) {
    uint64_t bits = 0;
    std::memcpy(&bits, raw_.data() + i * n, n);
    TANDEM_CHECK(elem_ != ValueType::U64 || bits <= uint64_t(INT64_MAX),
                 "{}[{}]: {} does not fit a signed 64-bit integer", where, i, bits);
    out[i] = widen(elem_, bits);
  }
  return out;
}

std::vector<double> Value::as_floats(std::string_view where) const {
  TANDEM_CHECK(type_ == ValueType::Array && (elem_ == ValueType::F32 || elem_ == ValueType::F64),
               "{}: expected an array of floats, found {}", where, type_desc(*this));
  const size_t n = value_type_size(elem_);
  std::vector<double> out(count_);
  for (uint64_t i = 0; i < count_; ++i) {
    uint64_t bits = 0;
    std::memcpy(&bits, raw_.data() + i * n, n);
    out[i] = float_of(elem_, bits);
  }
  return out;
}

std::string Value::summary() const {
  switch (type_) {
    case ValueType::Array:
      return fmt::format("[{} x {}]", value_type_name(elem_), size());
    case ValueType::String:
      return str_.size() <= 60
                 ? fmt::format("\"{}\"", str_)
                 : fmt::format("\"{}...\" ({} bytes)", str_.substr(0, 57), str_.size());
    case ValueType::F32:
    case ValueType::F64:
      return fmt::format("{}", float_of(type_, bits_));
    case ValueType::Bool:
      return bits_ ? "true" : "false";
    default:
      return is_signed(type_) ? fmt::format("{}", widen(type_, bits_)) : fmt::format("{}", bits_);
  }
}

}  // namespace tandem::gguf
