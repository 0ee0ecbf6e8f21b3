#include "tandem/io/hf_checkpoint.h"

#include <cctype>
#include <cmath>
#include <filesystem>
#include <vector>

#include "tandem/core/error.h"
#include "tandem/io/config_json.h"
#include "tandem/io/file.h"
#include "tandem/io/model_files.h"
#include "tandem/io/weight_files.h"
#include "tandem/model/param_layout.h"
#include "tandem/tokenizer/tokenizer.h"

namespace fs = std::filesystem;

namespace tandem {

namespace {

std::string torch_dtype_name(DType d) {
  switch (d) {
    case DType::F32:
      return "float32";
    case DType::BF16:
      return "bfloat16";
    case DType::F16:
      return "float16";
    default:
      fail("no torch dtype for {}", dtype_name(d));
  }
}

// One conversion serves both directions: read any model directory we accept, write the HF layout
// with the given weight dtype and sharding. `make_generation_config`: write one when the source
// has none (export; HF generate then stops at the tokenizer's eos).
void convert_model_dir(const std::string& in, const std::string& out, DType dtype,
                       uint64_t max_shard_bytes, bool make_generation_config) {
  TANDEM_CHECK(fs::is_directory(in), "{}: no such model directory", in);
  // The tokenizer is checked first: it is small, and a directory without one is no model to move.
  const std::string tok_path = in + "/tokenizer.json";
  TANDEM_CHECK(fs::exists(tok_path), "{}: missing; a model directory must carry its tokenizer",
               tok_path);
  const Tokenizer tok = Tokenizer::load(tok_path);
  const HostModel model = load_model_dir(in);
  TANDEM_CHECK(tok.vocab_size() <= model.config.vocab_size,
               "{}: has {} tokens but {}/config.json says vocab_size {}: tokenizer and model do "
               "not belong together",
               tok_path, tok.vocab_size(), in, model.config.vocab_size);

  const ParamLayout layout(model.config);
  std::vector<F32Tensor> tensors;
  for (const ParamSpec& t : layout.tensors)
    tensors.push_back({t.name, t.shape, model.params.data() + t.offset});

  write_dir_atomic(out, [&](const std::string& tmp) {
    save_model_config(model.config, tmp + "/config.json", torch_dtype_name(dtype));
    write_weight_files(tmp, tensors, dtype, max_shard_bytes);
    // Tokenizer files are copied byte for byte: tandem reads only part of them.
    write_file_atomic(tmp + "/tokenizer.json", read_file(tok_path));
    if (const std::string cfg = in + "/tokenizer_config.json"; fs::exists(cfg)) {
      write_file_atomic(tmp + "/tokenizer_config.json", read_file(cfg));
    } else {
      tok.save_config(tmp + "/tokenizer_config.json");
    }
    if (const std::string gen = in + "/generation_config.json"; fs::exists(gen)) {
      write_file_atomic(tmp + "/generation_config.json", read_file(gen));
    } else if (make_generation_config) {
      ModelConfig ids = model.config;
      if (ids.bos_token_id < 0) ids.bos_token_id = tok.bos_id();
      if (ids.eos_token_id < 0) ids.eos_token_id = tok.eos_id();
      write_file_atomic(tmp + "/generation_config.json",
                        format_generation_config(ids, tok.pad_id()));
    }
  });
}

}  // namespace

void export_hf(const std::string& model_dir, const std::string& out_dir,
               const HfExportOptions& options) {
  TANDEM_CHECK(options.dtype == DType::F32 || options.dtype == DType::BF16,
               "export: dtype {} is not supported (F32 or BF16)", dtype_name(options.dtype));
  convert_model_dir(model_dir, out_dir, options.dtype, options.max_shard_bytes, true);
}

void import_hf(const std::string& hf_dir, const std::string& out_dir) {
  convert_model_dir(hf_dir, out_dir, DType::F32, 0, false);
}

uint64_t parse_byte_size(std::string_view text, std::string_view what) {
  auto bad = [&]() -> uint64_t {
    fail("{}: expected a size such as 5GB, 500MB, 2GiB or a byte count, got '{}'", what,
         printable_name(text));
  };
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  const std::string number(text.substr(0, i));
  if (number.empty() || number.size() > 30 || number.front() == '.' ||
      number.find('.') != number.rfind('.'))
    bad();
  std::string unit;
  for (const char c : text.substr(i)) unit += char(std::toupper(static_cast<unsigned char>(c)));
  double scale = 0;
  if (unit.empty() || unit == "B") scale = 1;
  if (unit == "KB") scale = 1e3;
  if (unit == "MB") scale = 1e6;
  if (unit == "GB") scale = 1e9;
  if (unit == "TB") scale = 1e12;
  if (unit == "KIB") scale = 0x1p10;
  if (unit == "MIB") scale = 0x1p20;
  if (unit == "GIB") scale = 0x1p30;
  if (unit == "TIB") scale = 0x1p40;
  if (scale == 0) bad();
  const double bytes = std::floor(std::stod(number) * scale);
  if (!(bytes < 0x1p63)) bad();
  return uint64_t(bytes);
}

}  // namespace tandem
