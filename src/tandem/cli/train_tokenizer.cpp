// tandem train-tokenizer: learn a byte-level BPE vocabulary from text files.
#include <cstdio>
#include <filesystem>

#include "tandem/cli/commands.h"
#include "tandem/core/error.h"
#include "tandem/tokenizer/trainer.h"

namespace tandem::cli {
namespace {
struct TrainArgs {
  std::vector<std::string> inputs;
  std::string output;
  BpeTrainerOptions opt;
  bool no_nfc = false;
};

void run(TrainArgs& a) {
  a.opt.nfc = !a.no_nfc;
  const int n_special = static_cast<int>(a.opt.special_tokens.size());
  if (a.inputs.empty() && a.opt.vocab_size > 256 + n_special)
    throw UsageError("--input is required unless --vocab-size is 256 + the special tokens");
  const Tokenizer tok = train_bpe_files(a.inputs, a.opt);
  std::filesystem::create_directories(a.output);
  tok.save(a.output + "/tokenizer.json");
  tok.save_config(a.output + "/tokenizer_config.json");
  std::printf("wrote %s/tokenizer.json: %d tokens (%zu merges, %zu special)\n", a.output.c_str(),
              tok.vocab_size(), tok.model().merges().size(), tok.added_tokens().size());
}
}  // namespace

void add_train_tokenizer_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  auto* cmd = app.add_subcommand(
      "train-tokenizer",
      "Train a byte-level BPE tokenizer (Qwen-style pre-tokenizer) and write tokenizer.json");
  cmd->add_option("-i,--input", args->inputs, "Text files to learn from")->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", args->output, "Folder for tokenizer.json and tokenizer_config.json")
      ->required();
  cmd->add_option("--vocab-size", args->opt.vocab_size,
                  "Target size: 256 byte tokens + merges + special tokens")
      ->default_val(32000);
  cmd->add_option("--special", args->opt.special_tokens,
                  "Special tokens, in id order after the merges (e.g. '<|endoftext|>' "
                  "'<|im_start|>' '<|im_end|>' '<think>' '</think>')");
  cmd->add_option("--min-frequency", args->opt.min_frequency, "Stop when the best pair is rarer")
      ->default_val(2);
  cmd->add_flag("--no-nfc", args->no_nfc, "Do not NFC-normalize text (default: normalize, as Qwen)");
  cmd->add_option("-j,--threads", args->opt.threads, "Threads for counting words")->default_val(1);
  cmd->callback([args] { run(*args); });
}

}  // namespace tandem::cli
