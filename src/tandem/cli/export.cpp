// tandem export: write a model directory in another ecosystem's format: HF safetensors (vLLM,
// transformers, MindIE) or GGUF (llama.cpp, whose backends include Ascend via CANN).
#include <cstdio>

#include "tandem/cli/commands.h"
#include "tandem/core/error.h"
#include "tandem/io/hf_checkpoint.h"
#include "tandem/recipes/gguf_convert.h"

namespace tandem::cli {

void add_export_command(CLI::App& app) {
  struct Args {
    std::string model, out, format = "hf", dtype = "fp32", max_shard_size = "5GB", type = "f32";
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("export", "Write a model in another format (HF safetensors or GGUF)");
  cmd->add_option("model", a->model, "Model directory (tandem's or HF's)")->required();
  cmd->add_option("-o,--out", a->out,
                  "hf: directory to write (must not exist, or be empty); gguf: the .gguf file")
      ->required();
  cmd->add_option("--format", a->format,
                  "hf: safetensors directory for transformers/vLLM; gguf: one file for llama.cpp")
      ->capture_default_str()->check(CLI::IsMember(kModelFormats));
  cmd->add_option("--dtype", a->dtype, "Weight dtype: fp32 or bf16 (round to nearest even)")
      ->capture_default_str()->check(CLI::IsMember({"fp32", "bf16"}));
  cmd->add_option("--type", a->type,
                  "gguf tensor type: f32, f16, bf16, q8_0 or q4_0 (norms stay f32)")
      ->capture_default_str()->check(CLI::IsMember({"f32", "f16", "bf16", "q8_0", "q4_0"}));
  cmd->add_option("--max-shard-size", a->max_shard_size,
                  "Split weights into shards of at most this size (5GB = 5e9 bytes, 2GiB, bytes; "
                  "0: one file)")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& s) -> std::string {
            try {
              parse_byte_size(s, "--max-shard-size");
              return "";
            } catch (const Error&) {
              return "expected a size such as 5GB, 500MB, 2GiB or a byte count, got '" + s + "'";
            }
          },
          "SIZE"));
  cmd->callback([a] {
    switch (kModelFormats.at(a->format)) {
      case ModelFormat::Hf: {
        HfExportOptions opt;
        opt.dtype = a->dtype == "bf16" ? DType::BF16 : DType::F32;
        opt.max_shard_bytes = parse_byte_size(a->max_shard_size, "--max-shard-size");
        export_hf(a->model, a->out, opt);
        std::printf("exported %s to %s\n", a->model.c_str(), a->out.c_str());
        break;
      }
      case ModelFormat::Gguf:
        run_export_gguf(a->model, a->out, a->type);
        break;
    }
  });
}

}  // namespace tandem::cli
