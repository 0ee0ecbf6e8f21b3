#pragma once
// The weight files of a model directory, laid out as the HF ecosystem writes them: either one
// model.safetensors, or shards model-00001-of-0000N.safetensors listed by
// model.safetensors.index.json:
//   {"metadata": {"total_size": <bytes of tensor data>}, "weight_map": {"<tensor>": "<shard>"}}
// Reading checks the index against the shards (every listed file exists and holds the tensors
// mapped to it and no others), so a damaged or mismatched set gives one error naming the file.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/io/safetensors.h"

namespace tandem {

inline constexpr std::string_view kWeightsFile = "model.safetensors";
inline constexpr std::string_view kWeightsIndexFile = "model.safetensors.index.json";

struct ShardIndex {
  std::optional<uint64_t> total_size;             // metadata.total_size, when given
  std::map<std::string, std::string> weight_map;  // tensor name -> shard file name (no folder)
  std::vector<std::string> files() const;         // the distinct shard names, sorted
};

// Parses index text; `where` (the path) prefixes errors. Rejects a tensor named twice, an empty
// map, and shard names that are not plain "*.safetensors" file names (no folders, so an index
// cannot point outside its directory). Other metadata fields are ignored, as HF does.
ShardIndex parse_shard_index(std::string_view text, const std::string& where);
// The text HF writes: indent 2, keys sorted, newline-terminated.
std::string format_shard_index(const ShardIndex& index);

// Read access to a model's tensors wherever they are stored. Files stay mapped while it lives.
class WeightFiles {
 public:
  // dir/model.safetensors, or dir/model.safetensors.index.json and its shards; having both (or
  // neither) is an error, since one of them would be silently stale.
  static WeightFiles open_dir(const std::string& dir);
  // One safetensors file (a tandem checkpoint's optimizer state, say).
  static WeightFiles open_file(const std::string& path);
  // One safetensors file's bytes held in memory (weights sent over HTTP); `where` names them.
  static WeightFiles from_bytes(std::string_view bytes, const std::string& where);

  struct Entry {
    const SafetensorsReader* file;
    const TensorInfo* info;
  };
  const Entry* find(std::string_view name) const;  // nullptr when absent
  const std::map<std::string, Entry, std::less<>>& tensors() const { return tensors_; }
  // Copies tensor `name` as float32 (from F32, F16 or BF16). Errors: "<source>: missing tensor
  // 'x'", or the shard's path with the tensor for a shape or dtype mismatch.
  void read_f32(std::string_view name, std::span<const int64_t> shape, float* dst) const;
  // The file that lists the tensors: the single weights file or the index.
  const std::string& source() const { return source_; }
  size_t num_files() const { return files_.size(); }

 private:
  std::string source_;
  std::vector<std::unique_ptr<SafetensorsReader>> files_;  // stable addresses for Entry::file
  std::map<std::string, Entry, std::less<>> tensors_;
};

// A float32 tensor to be written, converted to the output dtype on the way.
struct F32Tensor {
  std::string name;
  std::vector<int64_t> shape;
  const float* data;
};

// Writes `tensors` into `dir` as HF's save_pretrained does: one model.safetensors when they fit
// in max_shard_bytes (0: no limit), else shards of at most max_shard_bytes of tensor data each (a
// larger tensor gets a shard of its own), in the given order, plus the index. `dtype` is F32,
// BF16 or F16 (rounded to nearest even). Each shard carries metadata {"format": "pt"}, which
// transformers checks. Returns the file names written.
std::vector<std::string> write_weight_files(const std::string& dir,
                                            const std::vector<F32Tensor>& tensors, DType dtype,
                                            uint64_t max_shard_bytes);

}  // namespace tandem
