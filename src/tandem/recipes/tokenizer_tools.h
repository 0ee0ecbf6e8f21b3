#pragma once
// The tokenizer's command-line jobs: `tandem tokenize` (encode text, a file or a chat
// conversation; decode ids; time the encoder) and `tandem train-tokenizer` (learn a byte-level BPE
// vocabulary from text files).
#include <string>
#include <vector>

#include "tandem/core/reporter.h"
#include "tandem/tokenizer/trainer.h"

namespace tandem {

struct TokenizeJob {
  std::string tokenizer;      // tokenizer.json
  std::string text, input;    // what to encode: the text, or a file's bytes
  std::string chat;           // or a conversation JSON rendered with the chat template
  std::string decode;         // or space-separated ids to decode
  std::string format = "ids"; // ids, json, tokens, count, none
  bool no_special = false;    // special-token text encoded as plain text
  bool render_only = false;   // with chat: the rendered prompt, not its ids
  bool stats = false;         // bytes, tokens and MB/s as a note
  int threads = 1, repeat = 1;
};
void run_tokenize(const TokenizeJob& job, Reporter& reporter);

struct TrainTokenizerJob {
  std::vector<std::string> inputs;
  std::string output;  // folder for tokenizer.json and tokenizer_config.json
  BpeTrainerOptions options;
};
void run_train_tokenizer(const TrainTokenizerJob& job, Reporter& reporter);

}  // namespace tandem
