// tandem train-tokenizer: learn a byte-level BPE vocabulary from text files
// (recipes/tokenizer_tools.h).
#include "tandem/cli/commands.h"
#include "tandem/cli/flags.h"
#include "tandem/core/error.h"
#include "tandem/recipes/tokenizer_tools.h"

namespace tandem::cli {

void add_train_tokenizer_command(CLI::App& app) {
  auto args = std::make_shared<TrainTokenizerJob>();
  auto no_nfc = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand(
      "train-tokenizer",
      "Train a byte-level BPE tokenizer (Qwen-style pre-tokenizer) and write tokenizer.json");
  cmd->add_option("-i,--input", args->inputs, "Text files to learn from")->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", args->output, "Folder for tokenizer.json and tokenizer_config.json")
      ->required();
  cmd->add_option("--vocab-size", args->options.vocab_size,
                  "Target size: 256 byte tokens + merges + special tokens")
      ->default_val(32000);
  cmd->add_option("--special", args->options.special_tokens,
                  "Special tokens, in id order after the merges (e.g. '<|endoftext|>' "
                  "'<|im_start|>' '<|im_end|>' '<think>' '</think>')");
  cmd->add_option("--min-frequency", args->options.min_frequency, "Stop when the best pair is rarer")
      ->default_val(2);
  cmd->add_flag("--no-nfc", *no_nfc, "Do not NFC-normalize text (default: normalize, as Qwen)");
  cmd->add_option("-j,--threads", args->options.threads, "Threads for counting words")->default_val(1);
  cmd->callback([args, no_nfc] {
    args->options.nfc = !*no_nfc;
    const int n_special = static_cast<int>(args->options.special_tokens.size());
    if (args->inputs.empty() && args->options.vocab_size > 256 + n_special)
      throw UsageError("--input is required unless --vocab-size is 256 + the special tokens");
    ConsoleReporter reporter = console();
    run_train_tokenizer(*args, reporter);
  });
}

}  // namespace tandem::cli
