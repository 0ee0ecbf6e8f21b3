// GGUF export/import jobs: a line of output around io/gguf/model_gguf.h.
#include "tandem/recipes/gguf_convert.h"

#include <cstdio>
#include <filesystem>

#include "tandem/io/gguf/gguf_format.h"
#include "tandem/io/gguf/gguf_reader.h"
#include "tandem/io/gguf/model_gguf.h"

namespace tandem {

int run_export_gguf(const std::string& model_dir, const std::string& out, const std::string& type) {
  const gguf::TensorType t = gguf::parse_tensor_type(type);  // a bad --type fails before work
  export_gguf(model_dir, out, t);
  const gguf::GgufReader r = gguf::GgufReader::open(out);  // read back: what we wrote parses
  std::printf("wrote %s: GGUF v%u, %s, %zu tensors, %.1f MB\n", out.c_str(), r.version(),
              std::string(gguf::traits(t).name).c_str(), r.tensors().size(),
              double(std::filesystem::file_size(out)) / 1e6);
  return 0;
}

int run_import_gguf(const std::string& gguf_path, const std::string& out_dir) {
  import_gguf(gguf_path, out_dir);
  std::printf("imported %s into %s (float32)\n", gguf_path.c_str(), out_dir.c_str());
  return 0;
}

}  // namespace tandem
