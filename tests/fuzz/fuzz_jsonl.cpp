// libFuzzer target for the user's data files (data/dataset.h): any bytes, as a .jsonl file, must
// either open as a dataset or throw tandem::Error, strictly (stop at a bad line) and leniently
// (--skip-bad); every example it then gives must be well formed (tokens and loss marks of equal
// length, within the context). A crash, a sanitizer report or another exception is a bug.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "tandem/core/error.h"
#include "tandem/data/dataset.h"

using namespace tandem;

namespace {
const Tokenizer& tokenizer() {
  static const Tokenizer tok =
      Tokenizer::bytes_only({"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"});
  return tok;
}

void check(const Example& ex, int max_tokens) {
  if (ex.tokens.size() != ex.loss.size()) __builtin_trap();
  if (max_tokens > 0 && ex.tokens.size() > size_t(max_tokens)) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/tandem_fuzz_jsonl_" + std::to_string(::getpid()) + ".jsonl";
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  }
  for (bool skip_bad : {false, true}) {
    DataOptions o;
    o.files = {path};
    o.skip_bad = skip_bad, o.val_fraction = 0.25, o.max_tokens = 64, o.seed = size;
    o.skip_long = size % 2 == 0, o.keep_thinking = size % 3 != 0;
    try {
      const Dataset d(o, tokenizer());
      for (uint64_t g = 0; g < 8; ++g) check(d.example(g), o.max_tokens);
      for (uint64_t k = 0; k < d.val_size() && k < 4; ++k) check(d.val_example(k), o.max_tokens);
    } catch (const Error&) {
      // rejected cleanly: fine
    }
  }
  return 0;
}
