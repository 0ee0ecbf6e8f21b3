#pragma once
// tandem's byte-level BPE tokenizer as GGUF metadata, the way llama.cpp's converter writes a
// Qwen tokenizer (tokenizer.ggml.model "gpt2", pre "qwen2"):
//   tokens      one string per id: byte-level text for vocab entries, the content of added
//               tokens, "[PAD<id>]" for ids up to the model's row count that no token owns
//   token_type  1 normal, 3 control (special added tokens, or ones that look like "<|...|>"),
//               4 user-defined (other added tokens), 5 unused (the padding ids)
//   merges      "left right" in rank order, both sides as byte-level text
//   bos/eos/padding_token_id where the tokenizer (or config) names them; add_bos_token false
// and tokenizer.tandem.nfc (ours; llama.cpp ignores it and never normalizes) so that reading the
// file back gives the same tokenizer.
#include <string>

#include "tandem/io/gguf/gguf_reader.h"
#include "tandem/io/gguf/gguf_writer.h"
#include "tandem/tokenizer/tokenizer.h"

namespace tandem::gguf {

enum TokenType : int32_t {
  kTokenNormal = 1,
  kTokenUnknown = 2,
  kTokenControl = 3,
  kTokenUserDefined = 4,
  kTokenUnused = 5,
  kTokenByte = 6,
};

struct TokenizerIds {
  int n_vocab = 0;  // rows of the embedding: the length of tokens (>= tokenizer.vocab_size())
  int bos = -1;     // used when the tokenizer's roles leave them unset (config.json's ids)
  int eos = -1;
};

void write_tokenizer(GgufWriter& w, const Tokenizer& tok, const TokenizerIds& ids);
// Rebuilds the tokenizer, roles included; errors name the file, the key and the index.
Tokenizer read_tokenizer(const GgufReader& r);

}  // namespace tandem::gguf
