// tandem import: turn a checkpoint from another ecosystem into a tandem model directory (float32).
#include <cstdio>

#include "tandem/cli/commands.h"
#include "tandem/io/hf_checkpoint.h"
#include "tandem/recipes/gguf_convert.h"

namespace tandem::cli {

void add_import_command(CLI::App& app) {
  struct Args {
    std::string from, out, format = "hf";
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "import", "Make a tandem model directory from an HF checkpoint (safetensors, sharded or not) or a "
      "qwen3 GGUF file");
  cmd->add_option("--from", a->from,
                  "HF checkpoint directory: config.json, model.safetensors or shards + "
                  "model.safetensors.index.json, tokenizer.json; or a .gguf file with --format gguf")
      ->required();
  cmd->add_option("-o,--out", a->out, "Directory to write (must not exist, or be empty)")
      ->required();
  cmd->add_option("--format", a->format,
                  "hf: safetensors directory (F32, F16 or BF16 weights); gguf: llama.cpp file "
                  "(F32, F16, BF16, Q8_0, Q4_0; dequantized)")
      ->capture_default_str()->check(CLI::IsMember(kModelFormats));
  cmd->callback([a] {
    switch (kModelFormats.at(a->format)) {
      case ModelFormat::Hf:
        import_hf(a->from, a->out);
        std::printf("imported %s to %s (float32)\n", a->from.c_str(), a->out.c_str());
        break;
      case ModelFormat::Gguf:
        run_import_gguf(a->from, a->out);
        break;
    }
  });
}

}  // namespace tandem::cli
