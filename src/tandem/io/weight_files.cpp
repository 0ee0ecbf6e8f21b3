#include "tandem/io/weight_files.h"

#include <sys/stat.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "tandem/core/error.h"
#include "tandem/core/json_text.h"
#include "tandem/io/file.h"
#include "tandem/io/half.h"
#include "tandem/io/json_file.h"
#include "tandem/io/safetensors_writer.h"

namespace tandem {

using nlohmann::json;

namespace {

bool is_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// A shard name must stay inside the model directory: a plain file name, nothing else.
bool plain_safetensors_name(std::string_view s) {
  return s.size() > 12 && s.ends_with(".safetensors") && s.find('/') == std::string_view::npos &&
         s.find('\\') == std::string_view::npos && s.find('\0') == std::string_view::npos;
}

}  // namespace

std::vector<std::string> ShardIndex::files() const {
  std::set<std::string> names;
  for (const auto& [tensor, file] : weight_map) names.insert(file);
  return {names.begin(), names.end()};
}

ShardIndex parse_shard_index(std::string_view text, const std::string& where) {
  // nlohmann keeps the last of duplicate keys silently; an index listing a tensor twice (perhaps
  // in two shards) is damaged, so the parse callback catches it.
  std::string top_key;
  std::set<std::string, std::less<>> top_seen, tensors_seen;
  const json::parser_callback_t no_duplicates = [&](int depth, json::parse_event_t event,
                                                    json& parsed) {
    if (event != json::parse_event_t::key) return true;
    const std::string key = parsed.get<std::string>();
    if (depth == 1) {
      if (!top_seen.insert(key).second)
        fail("{}: field '{}' appears twice", where, printable_name(key));
      top_key = key;
    } else if (depth == 2 && top_key == "weight_map" && !tensors_seen.insert(key).second) {
      fail("{}: weight_map lists tensor '{}' twice (a tensor must be in one shard)", where,
           printable_name(key));
    }
    return true;
  };
  json j;
  try {
    j = parse_json_text(text, /*allow_exceptions=*/true, no_duplicates);
  } catch (const json::exception& e) {
    fail_json_syntax(e, text, where);
  }
  const JsonFields f(j, where);
  ShardIndex index;
  if (const json* meta = f.find("metadata")) {
    if (!meta->is_object()) f.wrong("metadata", "an object", *meta);
    const JsonFields m(*meta, where + ": metadata");
    if (const json* total = m.find("total_size")) {
      // Some tools write the byte count as a float (1.6e10): accept any whole number.
      const bool whole =
          total->is_number_unsigned() ||
          (total->is_number_integer() && total->get<int64_t>() >= 0) ||
          (total->is_number_float() && total->get<double>() >= 0 && total->get<double>() < 0x1p63 &&
           std::floor(total->get<double>()) == total->get<double>());
      if (!whole) f.wrong("metadata.total_size", "a non-negative integer (bytes)", *total);
      index.total_size =
          total->is_number_float() ? uint64_t(total->get<double>()) : total->get<uint64_t>();
    }
  }
  const json* map = f.find("weight_map");
  if (!map) f.missing("weight_map", "an object mapping tensor names to shard files");
  if (!map->is_object())
    f.wrong("weight_map", "an object mapping tensor names to shard files", *map);
  TANDEM_CHECK(!map->empty(), "{}: weight_map lists no tensors", where);
  for (const auto& [tensor, file] : map->items()) {
    TANDEM_CHECK(!tensor.empty(), "{}: weight_map has a tensor with an empty name", where);
    TANDEM_CHECK(file.is_string(),
                 "{}: weight_map: tensor '{}': expected a shard file name, got {}", where,
                 printable_name(tensor), describe_json(file));
    const std::string name = file.get<std::string>();
    TANDEM_CHECK(plain_safetensors_name(name),
                 "{}: weight_map: tensor '{}': shard '{}' is not a plain *.safetensors file name "
                 "in the model's directory",
                 where, printable_name(tensor), printable_name(name));
    index.weight_map.emplace(tensor, name);
  }
  return index;
}

std::string format_shard_index(const ShardIndex& index) {
  json j = json::object();  // std::map-backed: keys come out sorted, as HF writes them
  j["metadata"] = json::object();
  if (index.total_size) j["metadata"]["total_size"] = *index.total_size;
  j["weight_map"] = index.weight_map;
  return json_text(j, 2, InvalidUtf8::kReplace) + "\n";
}

// ---------------------------------------------------------------------------------------------
// Reading

WeightFiles WeightFiles::open_file(const std::string& path) {
  WeightFiles w;
  w.source_ = path;
  w.files_.push_back(std::make_unique<SafetensorsReader>(SafetensorsReader::open(path)));
  const SafetensorsReader* r = w.files_.back().get();
  for (const TensorInfo& t : r->tensors()) w.tensors_.emplace(t.name, Entry{r, &t});
  return w;
}

WeightFiles WeightFiles::from_bytes(std::string_view bytes, const std::string& where) {
  WeightFiles w;
  w.source_ = where;
  w.files_.push_back(std::make_unique<SafetensorsReader>(SafetensorsReader::from_bytes(bytes, where)));
  const SafetensorsReader* r = w.files_.back().get();
  for (const TensorInfo& t : r->tensors()) w.tensors_.emplace(t.name, Entry{r, &t});
  return w;
}

WeightFiles WeightFiles::open_dir(const std::string& dir) {
  const std::string single = dir + "/" + std::string(kWeightsFile);
  const std::string index_path = dir + "/" + std::string(kWeightsIndexFile);
  const bool has_single = is_file(single), has_index = is_file(index_path);
  TANDEM_CHECK(!(has_single && has_index),
               "{}: has both {} and {}; one of them is stale, remove it", dir, kWeightsFile,
               kWeightsIndexFile);
  if (has_single) return open_file(single);
  TANDEM_CHECK(has_index, "{}: no model weights ({} or {} with its shards)", dir, kWeightsFile,
               kWeightsIndexFile);

  WeightFiles w;
  w.source_ = index_path;
  const ShardIndex index = parse_shard_index(read_file(index_path), index_path);
  std::map<std::string, const SafetensorsReader*> shard_of_name;
  std::map<const SafetensorsReader*, std::string> name_of_shard;
  for (const std::string& file : index.files()) {
    const std::string path = dir + "/" + file;
    if (!is_file(path)) {
      std::string example;  // a tensor the missing shard should hold, to make the error concrete
      for (const auto& [tensor, f] : index.weight_map)
        if (f == file) example = tensor;
      fail("{}: weight_map maps tensor '{}' to shard '{}', but {} does not exist", index_path,
           printable_name(example), file, path);
    }
    w.files_.push_back(std::make_unique<SafetensorsReader>(SafetensorsReader::open(path)));
    shard_of_name[file] = w.files_.back().get();
    name_of_shard[w.files_.back().get()] = file;
  }
  for (const auto& [tensor, file] : index.weight_map) {
    const SafetensorsReader* r = shard_of_name.at(file);
    const TensorInfo* t = r->find(tensor);
    TANDEM_CHECK(t, "{}: weight_map maps tensor '{}' to {}, which does not contain it", index_path,
                 printable_name(tensor), r->path());
    w.tensors_.emplace(tensor, Entry{r, t});
  }
  // Every tensor of every shard must be the one the index points at: a stray copy in another
  // shard would be loaded by tools that read whole shards, and may differ.
  for (const auto& r : w.files_)
    for (const TensorInfo& t : r->tensors()) {
      const auto it = index.weight_map.find(t.name);
      TANDEM_CHECK(it != index.weight_map.end(), "{}: holds tensor '{}', which {} does not list",
                   r->path(), printable_name(t.name), index_path);
      TANDEM_CHECK(it->second == name_of_shard.at(r.get()),
                   "{}: holds tensor '{}', which {} maps to shard '{}' (a tensor must be in one "
                   "shard)",
                   r->path(), printable_name(t.name), index_path, it->second);
    }
  return w;
}

const WeightFiles::Entry* WeightFiles::find(std::string_view name) const {
  const auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

void WeightFiles::read_f32(std::string_view name, std::span<const int64_t> shape,
                           float* dst) const {
  const Entry* e = find(name);
  TANDEM_CHECK(e, "{}: missing tensor '{}'", source_, printable_name(name));
  e->file->read_f32(name, shape, dst);
}

// ---------------------------------------------------------------------------------------------
// Writing

std::vector<std::string> write_weight_files(const std::string& dir,
                                            const std::vector<F32Tensor>& tensors, DType dtype,
                                            uint64_t max_shard_bytes) {
  TANDEM_CHECK(dtype == DType::F32 || dtype == DType::BF16 || dtype == DType::F16,
               "{}: cannot write weights as {} (F32, BF16 or F16)", dir, dtype_name(dtype));
  auto nbytes = [&](const F32Tensor& t) {
    uint64_t n = dtype_size(dtype);
    for (const int64_t d : t.shape) n *= uint64_t(d);
    return n;
  };
  // Greedy, in order, like transformers' split_torch_state_dict_into_shards.
  std::vector<std::vector<const F32Tensor*>> shards(1);
  uint64_t in_shard = 0, total = 0;
  for (const F32Tensor& t : tensors) {
    const uint64_t n = nbytes(t);
    if (max_shard_bytes && !shards.back().empty() && in_shard + n > max_shard_bytes) {
      shards.emplace_back();
      in_shard = 0;
    }
    shards.back().push_back(&t);
    in_shard += n;
    total += n;
  }
  const size_t count = shards.size();
  ShardIndex index;
  index.total_size = total;
  std::vector<std::string> written;
  for (size_t s = 0; s < count; ++s) {
    const std::string name = count == 1
                                 ? std::string(kWeightsFile)
                                 : fmt::format("model-{:05d}-of-{:05d}.safetensors", s + 1, count);
    // Converted copies live only while their shard is written, bounding the extra memory.
    std::vector<std::vector<uint16_t>> narrow;
    narrow.reserve(shards[s].size());
    SafetensorsWriter writer;
    writer.set_metadata("format", "pt");
    for (const F32Tensor* t : shards[s]) {
      const void* data = t->data;
      if (dtype != DType::F32) {
        size_t n = 1;
        for (const int64_t d : t->shape) n *= size_t(d);
        std::vector<uint16_t>& half = narrow.emplace_back(n);
        if (dtype == DType::BF16) {
          f32_to_bf16(t->data, half.data(), n);
        } else {
          f32_to_f16(t->data, half.data(), n);
        }
        data = half.data();
      }
      writer.add(t->name, dtype, t->shape, data);
      index.weight_map[t->name] = name;
    }
    writer.write(dir + "/" + name);
    written.push_back(name);
  }
  if (count > 1) {
    write_file_atomic(dir + "/" + std::string(kWeightsIndexFile), format_shard_index(index));
    written.emplace_back(kWeightsIndexFile);
  }
  return written;
}

}  // namespace tandem
