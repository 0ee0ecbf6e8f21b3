#pragma once
// BPE training: learn merges from a text corpus so that the vocabulary reaches a target size.
// The base alphabet is all 256 bytes (ids 0..255), so any input stays encodable without an
// unknown token: that is the byte fallback. Special tokens get the last ids.
#include <string>
#include <string_view>
#include <vector>

#include "tandem/tokenizer/tokenizer.h"

namespace tandem {

struct BpeTrainerOptions {
  int vocab_size = 32000;                   // bytes + merges + special tokens
  std::vector<std::string> special_tokens;  // e.g. <|endoftext|>, <|im_start|>, <|im_end|>
  int min_frequency = 2;                    // stop when the best pair is rarer than this
  bool nfc = true;                          // NFC-normalize text first, as Qwen does
  int threads = 1;                          // for counting words, the part that scales
};

// Trains on the concatenation of texts (each text is split independently).
Tokenizer train_bpe(const std::vector<std::string_view>& texts, const BpeTrainerOptions& options);
Tokenizer train_bpe_files(const std::vector<std::string>& paths, const BpeTrainerOptions& options);

}  // namespace tandem
