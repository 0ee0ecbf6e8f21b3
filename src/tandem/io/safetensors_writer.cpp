// SafetensorsWriter: the header JSON, the tensor order and the bytes, to a file or to memory.
#include "tandem/io/safetensors_writer.h"

#include <algorithm>
#include <bit>
#include <nlohmann/json.hpp>

#include "tandem/core/error.h"
#include "tandem/core/json_text.h"
#include "tandem/io/file.h"

namespace tandem {

// The format stores little-endian bytes (the header length, the tensors) and we write ours as is.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes little-endian");

void SafetensorsWriter::add(std::string name, DType dtype, std::vector<int64_t> shape,
                            const void* data) {
  TANDEM_CHECK(!name.empty() && name != "__metadata__",
               "safetensors writer: invalid tensor name '{}'", name);
  TANDEM_CHECK(std::none_of(entries_.begin(), entries_.end(),
                            [&](const Entry& e) { return e.info.name == name; }),
               "safetensors writer: tensor '{}' added twice", name);
  uint64_t numel = 0, nbytes = 0;
  TANDEM_CHECK(shape_bytes(shape, dtype, &numel, &nbytes),
               "safetensors writer: tensor '{}': invalid shape {}", name, shape_str(shape));
  TANDEM_CHECK(data || nbytes == 0, "safetensors writer: tensor '{}': null data", name);
  try {
    (void)json_text(nlohmann::json(name));  // the header is JSON: names must be valid UTF-8
  } catch (const nlohmann::json::exception&) {
    fail("safetensors writer: tensor name '{}' is not valid UTF-8", printable_name(name));
  }
  Entry e{TensorInfo{std::move(name), dtype, std::move(shape), 0, nbytes}, data};
  entries_.push_back(std::move(e));
}

void SafetensorsWriter::set_metadata(std::string key, std::string value) {
  metadata_[std::move(key)] = std::move(value);
}

template <typename Sink>
void SafetensorsWriter::emit(Sink&& sink) const {
  std::vector<const Entry*> order;
  for (const Entry& e : entries_) order.push_back(&e);
  std::stable_sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    return dtype_size(a->info.dtype) > dtype_size(b->info.dtype);
  });
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata_.empty()) header["__metadata__"] = metadata_;
  uint64_t pos = 0;
  for (const Entry* e : order) {
    header[e->info.name] = {{"dtype", dtype_name(e->info.dtype)},
                            {"shape", e->info.shape},
                            {"data_offsets", {pos, pos + e->info.nbytes}}};
    pos += e->info.nbytes;
  }
  std::string text = json_text(header, -1, InvalidUtf8::kReplace);
  text.resize((text.size() + 7) / 8 * 8, ' ');  // keeps the data buffer 8-byte aligned
  const uint64_t n = text.size();
  sink(&n, 8);
  sink(text.data(), text.size());
  for (const Entry* e : order) {
    if (e->info.nbytes) sink(e->data, e->info.nbytes);
  }
}

void SafetensorsWriter::write(const std::string& path) const {
  AtomicFile f(path);
  emit([&](const void* p, size_t n) { f.write(p, n); });
  f.commit();
}

std::string SafetensorsWriter::to_bytes() const {
  std::string out;
  emit([&](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); });
  return out;
}

}  // namespace tandem
