#include "tandem/io/gguf/gguf_reader.h"

#include <algorithm>
#include <cstring>

#include "tandem/core/error.h"
#include "tandem/io/gguf/quantize.h"
#include "tandem/io/safetensors.h"  // printable_name

namespace tandem::gguf {
namespace {

constexpr uint32_t kMaxAlignment = uint32_t{1} << 30;

// Reads little-endian fields from [data, data + size), failing with the file, the item being
// read (`what`, e.g. "metadata 'general.name'") and the offset where the bytes ran out.
class Cursor {
 public:
  Cursor(const std::byte* data, size_t size, const std::string& path)
      : p_(reinterpret_cast<const uint8_t*>(data)), size_(size), path_(path) {}

  size_t pos() const { return pos_; }
  size_t left() const { return size_ - pos_; }

  template <typename T>
  T get(std::string_view what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string_view bytes(uint64_t n, std::string_view what) {
    need(n, what);
    const std::string_view s(reinterpret_cast<const char*>(p_ + pos_), size_t(n));
    pos_ += size_t(n);
    return s;
  }
  // A GGUF string: u64 length, then the bytes; at most max_len bytes.
  std::string_view str(std::string_view what, uint64_t max_len = UINT64_MAX) {
    const size_t at = pos_;
    const uint64_t n = get<uint64_t>(what);
    if (n > max_len)
      fail("{}: offset {}: {}: length {} exceeds the limit of {} bytes", path_, at, what, n,
           max_len);
    return bytes(n, what);
  }

 private:
  void need(uint64_t n, std::string_view what) const {
    if (n > left())
      fail("{}: truncated at offset {}: {} needs {} bytes, {} left", path_, pos_, what, n, left());
  }
  const uint8_t* p_;
  size_t size_;
  size_t pos_ = 0;
  const std::string& path_;
};

// Reads one value of type t (not an array) into a Value.
Value read_scalar(Cursor& c, ValueType t, std::string_view what, const std::string& path) {
  if (t == ValueType::String) return Value::string(std::string(c.str(what)));
  const size_t at = c.pos();
  uint64_t bits = 0;
  const std::string_view b = c.bytes(value_type_size(t), what);
  std::memcpy(&bits, b.data(), b.size());
  if (t == ValueType::Bool && bits > 1)
    fail("{}: offset {}: {}: bool byte is {} (must be 0 or 1)", path, at, what, bits);
  return Value::scalar(t, bits);
}

Value read_value(Cursor& c, uint32_t raw_type, const std::string& what, const std::string& path,
                 size_t type_at) {
  if (!valid_value_type(raw_type))
    fail("{}: offset {}: {}: unknown value type {} (GGUF has 0 to 12)", path, type_at, what,
         raw_type);
  const auto t = ValueType(raw_type);
  if (t != ValueType::Array) return read_scalar(c, t, what, path);

  const size_t at = c.pos();
  const uint32_t raw_elem = c.get<uint32_t>(what);
  if (!valid_value_type(raw_elem))
    fail("{}: offset {}: {}: unknown array element type {}", path, at, what, raw_elem);
  const auto elem = ValueType(raw_elem);
  if (elem == ValueType::Array)
    fail("{}: offset {}: {}: arrays of arrays are not supported (ggml does not read them)", path,
         at, what);
  const uint64_t count = c.get<uint64_t>(what);
  // Every element takes at least this many bytes, so the count is bounded by what is left before
  // anything is allocated for it.
  const uint64_t min_bytes = elem == ValueType::String ? 8 : value_type_size(elem);
  if (count > c.left() / min_bytes)
    fail("{}: offset {}: {}: array of {} {} elements cannot fit in the {} bytes left (truncated?)",
         path, at, what, count, value_type_name(elem), c.left());
  if (elem != ValueType::String) {
    const size_t data_at = c.pos();
    const std::string_view b = c.bytes(count * min_bytes, what);
    if (elem == ValueType::Bool) {
      for (uint64_t i = 0; i < count; ++i)
        if (uint8_t(b[i]) > 1)
          fail("{}: offset {}: {}[{}]: bool byte is {} (must be 0 or 1)", path, data_at + i, what,
               i, uint8_t(b[i]));
    }
    return Value::packed(elem, count, std::string(b));
  }
  std::vector<std::string> items;
  items.reserve(size_t(count));
  for (uint64_t i = 0; i < count; ++i) items.emplace_back(c.str(what));
  return Value::strings(std::move(items));
}

std::string dims_str(std::span<const uint64_t> ne) {
  return fmt::format("[{}]", fmt::join(ne, ", "));
}

}  // namespace

uint64_t TensorEntry::numel() const {
  uint64_t n = 1;
  for (const uint64_t d : ne) n *= d;
  return n;
}

std::vector<int64_t> TensorEntry::hf_shape() const {
  return std::vector<int64_t>(ne.rbegin(), ne.rend());
}

GgufReader GgufReader::open(const std::string& path) {
  GgufReader r;
  r.path_ = path;
  r.file_ = MappedFile::open(path);
  r.parse();
  return r;
}

GgufReader GgufReader::from_bytes(std::string_view bytes, std::string where) {
  GgufReader r;
  r.path_ = std::move(where);
  r.file_ = MappedFile::copy_of(bytes);
  r.parse();
  return r;
}

void GgufReader::parse() {
  const std::string& p = path_;
  Cursor c(file_.data(), file_.size(), p);
  const std::string_view magic = c.bytes(4, "the magic 'GGUF'");
  if (magic != std::string_view(kMagic, 4))
    fail("{}: offset 0: bad magic '{}' (expected 'GGUF'): not a GGUF file", p,
         printable_name(magic));
  version_ = c.get<uint32_t>("the version");
  if (version_ == 0x03000000u || version_ == 0x02000000u)
    fail("{}: offset 4: big-endian GGUF files are not supported", p);
  if (version_ != 2 && version_ != 3)
    fail("{}: offset 4: unsupported GGUF version {} (tandem reads 2 and 3)", p, version_);
  const uint64_t n_tensors = c.get<uint64_t>("the tensor count");
  const uint64_t n_kv = c.get<uint64_t>("the metadata count");
  // A key/value pair takes at least 8 + 1 + 4 + 1 bytes, a tensor info 8 + 1 + 4 + 8 + 4 + 8.
  if (n_kv > c.left() / 14)
    fail("{}: offset 16: metadata count {} cannot fit in the {} bytes left", p, n_kv, c.left());
  if (n_tensors > c.left() / 33)
    fail("{}: offset 8: tensor count {} cannot fit in the {} bytes left", p, n_tensors, c.left());

  kv_.reserve(size_t(n_kv));
  for (uint64_t i = 0; i < n_kv; ++i) {
    const size_t at = c.pos();
    const std::string what_key = fmt::format("metadata key #{}", i);
    std::string key(c.str(what_key, kMaxKeyBytes));
    if (key.empty()) fail("{}: offset {}: {} is empty", p, at, what_key);
    const std::string what = fmt::format("metadata '{}'", printable_name(key));
    if (kv_index_.count(key)) fail("{}: offset {}: {} appears twice", p, at, what);
    const size_t type_at = c.pos();
    const uint32_t type = c.get<uint32_t>(what);
    Value v = read_value(c, type, what, p, type_at);
    kv_index_.emplace(key, kv_.size());
    kv_.push_back({std::move(key), std::move(v)});
  }
  if (const Value* a = find("general.alignment")) {
    const uint64_t al = a->as_uint(where("general.alignment"));
    if (a->type() != ValueType::U32 || al == 0 || (al & (al - 1)) != 0 || al > kMaxAlignment)
      fail("{}: general.alignment must be a u32 power of two up to {}, found {} {}", p,
           kMaxAlignment, value_type_name(a->type()), al);
    alignment_ = uint32_t(al);
  }

  tensors_.reserve(size_t(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    const size_t at = c.pos();
    TensorEntry t;
    t.name = std::string(c.str(fmt::format("tensor #{} name", i), kMaxNameBytes));
    const std::string what = fmt::format("tensor '{}'", printable_name(t.name));
    if (t.name.empty()) fail("{}: offset {}: tensor #{} has an empty name", p, at, i);
    if (tensor_index_.count(t.name)) fail("{}: offset {}: {} appears twice", p, at, what);
    const uint32_t n_dims = c.get<uint32_t>(what);
    if (n_dims < 1 || n_dims > kMaxDims)
      fail("{}: offset {}: {} has {} dimensions (1 to {} supported)", p, at, what, n_dims,
           kMaxDims);
    uint64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t n = c.get<uint64_t>(what);
      t.ne.push_back(n);
      if (n > uint64_t(INT64_MAX) || __builtin_mul_overflow(numel, n, &numel) ||
          numel > uint64_t(INT64_MAX))
        fail("{}: offset {}: {}: dimensions {} overflow", p, at, what, dims_str(t.ne));
    }
    const size_t type_at = c.pos();
    const uint32_t type = c.get<uint32_t>(what);
    const auto tr = type_traits(type);
    if (!tr) {
      const std::string_view name = ggml_type_name(type);
      if (!name.empty())
        fail(
            "{}: offset {}: {} has type {} ({}), which tandem does not read (F32, F16, BF16, "
            "Q8_0, Q4_0)",
            p, type_at, what, name, type);
      fail("{}: offset {}: {} has unknown ggml type {}", p, type_at, what, type);
    }
    t.type = TensorType(type);
    if (t.ne[0] % uint64_t(tr->block_size) != 0)
      fail("{}: offset {}: {}: row length {} is not a multiple of {}'s block size {}", p, at, what,
           t.ne[0], tr->name, tr->block_size);
    // F32 takes 4 bytes an element: a count below 2^63 can still wrap 64 bits of bytes, and a
    // wrapped size would let a vast tensor pass the bounds check below as a small one.
    if (__builtin_mul_overflow(numel / uint64_t(tr->block_size), uint64_t(tr->block_bytes),
                               &t.nbytes))
      fail("{}: offset {}: {}: dimensions {} of {} take more than 2^64 bytes", p, at, what,
           dims_str(t.ne), tr->name);
    t.offset = c.get<uint64_t>(what);
    if (t.offset % alignment_ != 0)
      fail("{}: offset {}: {}: data offset {} is not a multiple of the alignment {}", p, at, what,
           t.offset, alignment_);
    tensor_index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
  }

  const uint64_t header_end = c.pos();
  data_start_ = (header_end + alignment_ - 1) / alignment_ * alignment_;
  const uint64_t size = file_.size();
  if (tensors_.empty()) return;  // nothing to place; trailing padding is optional then
  if (data_start_ > size)
    fail("{}: truncated: the tensor data would start at offset {} but the file has {} bytes", p,
         data_start_, size);
  const uint64_t avail = size - data_start_;
  std::vector<const TensorEntry*> by_offset;
  for (const auto& t : tensors_) {
    if (t.offset > avail || t.nbytes > avail - t.offset)
      fail(
          "{}: tensor '{}' ({} {}, {} bytes at file offset {}) runs past the end of the file "
          "({} bytes; truncated?)",
          p, printable_name(t.name), ggml_type_name(uint32_t(t.type)), dims_str(t.ne), t.nbytes,
          data_start_ + t.offset, size);
    by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorEntry* a, const TensorEntry* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const TensorEntry& prev = *by_offset[i - 1];
    const TensorEntry& cur = *by_offset[i];
    if (cur.offset < prev.offset + prev.nbytes)
      fail("{}: tensor '{}' (file offset {}) overlaps tensor '{}' (file offset {}, {} bytes)", p,
           printable_name(cur.name), data_start_ + cur.offset, printable_name(prev.name),
           data_start_ + prev.offset, prev.nbytes);
  }
}

const Value* GgufReader::find(std::string_view key) const {
  const auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kv_[it->second].value;
}

const Value& GgufReader::get(std::string_view key) const {
  const Value* v = find(key);
  if (!v) fail("{}: missing metadata key '{}'", path_, key);
  return *v;
}

std::string GgufReader::where(std::string_view key) const {
  return fmt::format("{}: metadata '{}'", path_, printable_name(key));
}

const TensorEntry* GgufReader::find_tensor(std::string_view name) const {
  const auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const TensorEntry& GgufReader::get_tensor(std::string_view name) const {
  const TensorEntry* t = find_tensor(name);
  if (!t) fail("{}: missing tensor '{}'", path_, name);
  return *t;
}

const std::byte* GgufReader::data(const TensorEntry& t) const {
  return file_.data() + data_start_ + t.offset;
}

void GgufReader::read_f32(std::string_view name, std::span<const uint64_t> expected_ne,
                          float* dst) const {
  const TensorEntry& t = get_tensor(name);
  if (!expected_ne.empty() &&
      !std::equal(t.ne.begin(), t.ne.end(), expected_ne.begin(), expected_ne.end()))
    fail("{}: tensor '{}' has dimensions {} (ggml order), expected {}", path_, name, dims_str(t.ne),
         dims_str(expected_ne));
  decode_tensor(t.type, data(t), int64_t(t.numel()), dst);
}

std::vector<float> GgufReader::read_f32(const TensorEntry& t) const {
  std::vector<float> out(size_t(t.numel()));
  decode_tensor(t.type, data(t), int64_t(t.numel()), out.data());
  return out;
}

}  // namespace tandem::gguf
