#include "tandem/io/gguf/gguf_writer.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "tandem/core/error.h"
#include "tandem/io/file.h"
#include "tandem/io/gguf/quantize.h"

namespace tandem::gguf {
namespace {

uint64_t align_up(uint64_t x, uint64_t a) {
  return (x + a - 1) / a * a;
}

// Little-endian serialisation of header fields into a byte string.
struct Bytes {
  std::string out;
  template <typename T>
  void put(T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    out.append(b, sizeof(T));
  }
  void str(const std::string& s) {
    put<uint64_t>(s.size());
    out.append(s);
  }
  void value(const Value& v) {
    if (v.type() == ValueType::String) return str(v.str());
    if (v.type() != ValueType::Array) {
      const uint64_t bits = v.bits();
      char b[8];
      std::memcpy(b, &bits, 8);
      out.append(b, value_type_size(v.type()));
      return;
    }
    put<uint32_t>(uint32_t(v.elem_type()));
    put<uint64_t>(v.size());
    if (v.elem_type() == ValueType::String) {
      for (const auto& s : v.strs()) str(s);
    } else {
      out.append(v.raw());
    }
  }
};

}  // namespace

GgufWriter::GgufWriter(uint32_t alignment) : alignment_(alignment) {
  TANDEM_CHECK(alignment >= 8 && alignment % 8 == 0 && (alignment & (alignment - 1)) == 0,
               "gguf writer: alignment {} must be a power of two and a multiple of 8", alignment);
  kv_.push_back({"general.alignment", Value::u32(alignment)});
}

void GgufWriter::set(std::string key, Value value) {
  TANDEM_CHECK(!key.empty() && key.size() <= kMaxKeyBytes,
               "gguf writer: metadata key of {} bytes (must be 1 to {})", key.size(), kMaxKeyBytes);
  TANDEM_CHECK(key != "general.alignment",
               "gguf writer: general.alignment is set by the writer's constructor");
  TANDEM_CHECK(value.type() != ValueType::Array || value.elem_type() != ValueType::Array,
               "gguf writer: metadata '{}': arrays of arrays are not supported", key);
  for (auto& kv : kv_) {
    if (kv.key == key) {
      kv.value = std::move(value);
      return;
    }
  }
  kv_.push_back({std::move(key), std::move(value)});
}

void GgufWriter::add(Entry e) {
  TANDEM_CHECK(!e.name.empty() && e.name.size() <= kMaxNameBytes,
               "gguf writer: tensor name '{}' has {} bytes (must be 1 to {})", e.name,
               e.name.size(), kMaxNameBytes);
  for (const auto& t : tensors_)
    TANDEM_CHECK(t.name != e.name, "gguf writer: tensor '{}' added twice", e.name);
  TANDEM_CHECK(!e.ne.empty() && e.ne.size() <= kMaxDims,
               "gguf writer: tensor '{}' has {} dimensions (must be 1 to {})", e.name, e.ne.size(),
               kMaxDims);
  uint64_t n = 1;
  for (const uint64_t d : e.ne) {
    TANDEM_CHECK(
        d <= uint64_t(INT64_MAX) && !__builtin_mul_overflow(n, d, &n) && n <= uint64_t(INT64_MAX),
        "gguf writer: tensor '{}': shape [{}] is too large", e.name, fmt::join(e.ne, ", "));
  }
  const TypeTraits tr = traits(e.type);
  TANDEM_CHECK(e.ne[0] % uint64_t(tr.block_size) == 0,
               "gguf writer: tensor '{}': row length {} is not a multiple of {}'s block size {}",
               e.name, e.ne[0], tr.name, tr.block_size);
  e.numel = n;
  e.nbytes = tensor_bytes(e.type, n);
  tensors_.push_back(std::move(e));
}

void GgufWriter::add_f32(std::string name, std::vector<uint64_t> ne, TensorType type,
                         const float* data) {
  add({std::move(name), std::move(ne), type, data, nullptr, 0, 0});
}

void GgufWriter::add_encoded(std::string name, std::vector<uint64_t> ne, TensorType type,
                             const void* bytes) {
  add({std::move(name), std::move(ne), type, nullptr, bytes, 0, 0});
}

template <typename Sink>
void GgufWriter::emit(Sink&& sink) const {
  Bytes h;
  h.out.append(kMagic, 4);
  h.put<uint32_t>(kVersion);
  h.put<uint64_t>(tensors_.size());
  h.put<uint64_t>(kv_.size());
  for (const auto& kv : kv_) {
    h.str(kv.key);
    h.put<uint32_t>(uint32_t(kv.value.type()));
    h.value(kv.value);
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    h.str(t.name);
    h.put<uint32_t>(uint32_t(t.ne.size()));
    for (const uint64_t d : t.ne) h.put<uint64_t>(d);
    h.put<uint32_t>(uint32_t(t.type));
    h.put<uint64_t>(offset);
    offset = align_up(offset + t.nbytes, alignment_);
  }
  h.out.resize(align_up(h.out.size(), alignment_), '\0');
  sink(h.out.data(), h.out.size());

  std::string buf;
  for (const auto& t : tensors_) {
    const uint64_t padded = align_up(t.nbytes, alignment_);
    if (t.f32) {
      buf.assign(padded, '\0');
      encode_tensor(t.type, t.f32, int64_t(t.numel), buf.data());
      sink(buf.data(), buf.size());
    } else {
      if (t.nbytes) sink(t.encoded, t.nbytes);
      buf.assign(padded - t.nbytes, '\0');
      sink(buf.data(), buf.size());
    }
  }
}

void GgufWriter::write(const std::string& path) const {
  AtomicFile f(path);
  emit([&](const void* p, size_t n) { f.write(p, n); });
  f.commit();
}

std::string GgufWriter::to_bytes() const {
  std::string out;
  emit([&](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); });
  return out;
}

}  // namespace tandem::gguf
