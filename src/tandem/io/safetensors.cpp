#include "tandem/io/safetensors.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "tandem/core/error.h"
#include "tandem/core/json_text.h"
#include "tandem/io/half.h"
#include "tandem/io/json_file.h"

namespace tandem {

// The format stores little-endian bytes and we hand them out as they are.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes little-endian");

using nlohmann::json;

namespace {

// The reference implementation refuses larger headers; so do we, before allocating for one.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

constexpr DType kAllDTypes[] = {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I64,
                                DType::I32, DType::I16, DType::I8,   DType::U8,  DType::BOOL};

}  // namespace

size_t dtype_size(DType d) {
  switch (d) {
    case DType::F64:
    case DType::I64:
      return 8;
    case DType::F32:
    case DType::I32:
      return 4;
    case DType::F16:
    case DType::BF16:
    case DType::I16:
      return 2;
    case DType::I8:
    case DType::U8:
    case DType::BOOL:
      return 1;
  }
  fail("dtype_size: invalid DType {}", int(d));
}

std::string_view dtype_name(DType d) {
  switch (d) {
    case DType::F32:
      return "F32";
    case DType::F16:
      return "F16";
    case DType::BF16:
      return "BF16";
    case DType::F64:
      return "F64";
    case DType::I64:
      return "I64";
    case DType::I32:
      return "I32";
    case DType::I16:
      return "I16";
    case DType::I8:
      return "I8";
    case DType::U8:
      return "U8";
    case DType::BOOL:
      return "BOOL";
  }
  fail("dtype_name: invalid DType {}", int(d));
}

std::string printable_name(std::string_view s) {
  std::string out;
  for (const char ch : s.substr(0, 200)) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += ch;
    }
  }
  if (s.size() > 200) out += "...";
  return out;
}

std::string shape_str(std::span<const int64_t> shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

bool shape_bytes(std::span<const int64_t> shape, DType d, uint64_t* numel, uint64_t* nbytes) {
  uint64_t n = 1;
  for (const int64_t dim : shape) {
    if (dim < 0 || __builtin_mul_overflow(n, uint64_t(dim), &n)) return false;
  }
  if (n > uint64_t(INT64_MAX) || __builtin_mul_overflow(n, dtype_size(d), nbytes)) return false;
  *numel = n;
  return true;
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (const int64_t d : shape) n *= d;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Reader

SafetensorsReader SafetensorsReader::open(const std::string& path) {
  SafetensorsReader r;
  r.path_ = path;
  r.file_ = MappedFile::open(path);  // an empty file maps to nothing; parse() reports it
  r.parse();
  return r;
}

SafetensorsReader SafetensorsReader::from_bytes(std::string_view bytes, std::string where) {
  SafetensorsReader r;
  r.path_ = std::move(where);
  r.file_ = MappedFile::copy_of(bytes);
  r.parse();
  return r;
}

void SafetensorsReader::parse() {
  const std::string& p = path_;
  TANDEM_CHECK(file_.size() >= 8,
               "{}: truncated: the file has {} bytes, fewer than the 8-byte header length", p,
               file_.size());
  uint64_t n = 0;
  std::memcpy(&n, base(), 8);
  TANDEM_CHECK(
      n <= kMaxHeaderBytes,
      "{}: header length {} is larger than the limit of {} bytes (not a safetensors file?)", p, n,
      kMaxHeaderBytes);
  TANDEM_CHECK(n <= file_.size() - 8,
               "{}: truncated: header says {} bytes but the file has {} after the 8-byte length", p,
               n, file_.size() - 8);
  data_start_ = 8 + size_t(n);
  const uint64_t buffer = file_.size() - data_start_;
  const std::string_view text(reinterpret_cast<const char*>(base()) + 8, size_t(n));
  TANDEM_CHECK(!text.empty() && text[0] == '{',
               "{}: header does not start with '{{' (not a safetensors file?)", p);

  // nlohmann keeps the last of duplicate keys silently; a file naming a tensor twice is damaged.
  std::set<std::string, std::less<>> seen;
  const json::parser_callback_t no_duplicates = [&](int depth, json::parse_event_t event,
                                                    json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key &&
        !seen.insert(parsed.get<std::string>()).second) {
      fail("{}: header names '{}' twice", p, printable_name(parsed.get<std::string>()));
    }
    return true;
  };
  json header;
  try {
    header = parse_json_text(text, /*allow_exceptions=*/true, no_duplicates);
  } catch (const json::exception& e) {
    fail_json_syntax(e, text, p + ": header");
  }
  TANDEM_CHECK(header.is_object(), "{}: header is {}, expected a JSON object", p,
               describe_json(header));

  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      TANDEM_CHECK(entry.is_object(),
                   "{}: field '__metadata__': expected an object of strings, got {}", p,
                   describe_json(entry));
      for (const auto& [k, v] : entry.items()) {
        TANDEM_CHECK(v.is_string(),
                     "{}: field '__metadata__': value of '{}' must be a string, got {}", p,
                     printable_name(k), describe_json(v));
        metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    TANDEM_CHECK(!name.empty(), "{}: header has a tensor with an empty name", p);
    const std::string where = fmt::format("{}: tensor '{}'", p, printable_name(name));
    const JsonFields f(entry, where);
    TensorInfo t;
    t.name = name;

    const std::string dtype = f.get_string("dtype");
    const auto* known = std::find_if(std::begin(kAllDTypes), std::end(kAllDTypes),
                                     [&](DType d) { return dtype_name(d) == dtype; });
    TANDEM_CHECK(
        known != std::end(kAllDTypes),
        "{}: unknown dtype \"{}\" (supported: F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL)",
        where, printable_name(dtype));
    t.dtype = *known;

    const json* shape = f.find("shape");
    if (!shape) f.missing("shape", "a list of non-negative integers");
    if (!shape->is_array()) f.wrong("shape", "a list of non-negative integers", *shape);
    for (const json& d : *shape) t.shape.push_back(f.as_int("shape", d, 0, INT64_MAX));
    uint64_t numel = 0, nbytes = 0;
    TANDEM_CHECK(shape_bytes(t.shape, t.dtype, &numel, &nbytes),
                 "{}: shape {} of {} is too large to address", where, shape_str(t.shape), dtype);

    const json* off = f.find("data_offsets");
    if (!off) f.missing("data_offsets", "[begin, end]");
    if (!off->is_array() || off->size() != 2) f.wrong("data_offsets", "[begin, end]", *off);
    const int64_t begin = f.as_int("data_offsets", (*off)[0], 0, INT64_MAX);
    const int64_t end = f.as_int("data_offsets", (*off)[1], 0, INT64_MAX);
    TANDEM_CHECK(begin <= end, "{}: data_offsets [{}, {}] end before they begin", where, begin,
                 end);
    TANDEM_CHECK(uint64_t(end) <= buffer,
                 "{}: data_offsets [{}, {}] run past the end of the {}-byte data buffer (file "
                 "truncated?)",
                 where, begin, end, buffer);
    TANDEM_CHECK(uint64_t(end - begin) == nbytes,
                 "{}: data_offsets [{}, {}] do not match shape {} of {} ({} bytes)", where, begin,
                 end, shape_str(t.shape), dtype, nbytes);
    t.offset = uint64_t(begin);
    t.nbytes = nbytes;
    tensors_.push_back(std::move(t));
  }

  // The tensors must tile the buffer: sorted by position, each starts where the previous ended.
  std::sort(tensors_.begin(), tensors_.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return std::pair(a.offset, a.nbytes) < std::pair(b.offset, b.nbytes);
  });
  uint64_t pos = 0;
  const TensorInfo* prev = nullptr;
  for (const TensorInfo& t : tensors_) {
    if (t.offset < pos) {
      fail("{}: tensors '{}' [{}, {}] and '{}' [{}, {}] overlap", p, printable_name(prev->name),
           prev->offset, prev->offset + prev->nbytes, printable_name(t.name), t.offset,
           t.offset + t.nbytes);
    }
    TANDEM_CHECK(
        t.offset == pos,
        "{}: tensor '{}': {} unused bytes before its data_offsets [{}, {}] (tensors must be "
        "contiguous)",
        p, printable_name(t.name), t.offset - pos, t.offset, t.offset + t.nbytes);
    pos = t.offset + t.nbytes;
    if (t.nbytes > 0) prev = &t;
  }
  TANDEM_CHECK(pos == buffer,
               "{}: {} unused bytes after the last tensor (data buffer has {} bytes)", p,
               buffer - pos, buffer);
  for (size_t i = 0; i < tensors_.size(); ++i) index_.emplace(tensors_[i].name, i);
}

const TensorInfo* SafetensorsReader::find(std::string_view name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo& SafetensorsReader::get(std::string_view name) const {
  const TensorInfo* t = find(name);
  TANDEM_CHECK(t, "{}: no tensor named '{}' (the file has {} tensors)", path_, printable_name(name),
               tensors_.size());
  return *t;
}

const std::byte* SafetensorsReader::data(const TensorInfo& t) const {
  TANDEM_CHECK(t.offset <= file_.size() - data_start_ && t.nbytes <= file_.size() - data_start_ - t.offset,
               "{}: tensor '{}' is not from this file", path_, printable_name(t.name));
  return base() + data_start_ + t.offset;
}

void SafetensorsReader::read_f32(std::string_view name, std::span<const int64_t> expected_shape,
                                 float* dst) const {
  const TensorInfo& t = get(name);
  TANDEM_CHECK(
      std::equal(t.shape.begin(), t.shape.end(), expected_shape.begin(), expected_shape.end()),
      "{}: tensor '{}': shape {} does not match the expected {}", path_, printable_name(name),
      shape_str(t.shape), shape_str(expected_shape));
  const std::byte* src = data(t);
  const size_t n = size_t(t.numel());
  switch (t.dtype) {
    case DType::F32:
      if (n) std::memcpy(dst, src, n * 4);
      break;
    case DType::BF16:
      bf16_to_f32(src, dst, n);
      break;
    case DType::F16:
      f16_to_f32(src, dst, n);
      break;
    default:
      fail("{}: tensor '{}': dtype {} cannot be read as float32 (expected F32, F16 or BF16)", path_,
           printable_name(name), dtype_name(t.dtype));
  }
  file_.drop_pages(size_t(src - file_.data()), t.nbytes);
}

}  // namespace tandem
