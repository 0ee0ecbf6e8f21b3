#pragma once
// The generated Unicode tables (unicode_tables.inc) with the entry types they are written in.
// Included by unicode.cpp (classes) and nfc.cpp (normalization); the arrays are static constexpr,
// so each file keeps only what it reads.
#include <cstdint>

namespace tandem::unicode::tables {

struct CccEntry {
  uint32_t cp;
  uint8_t ccc;
};
struct DecompEntry {
  uint32_t cp, first, second;  // second == 0: singleton decomposition
};
struct ComposeEntry {
  uint32_t first, second, composite;
};
#include "tandem/tokenizer/unicode_tables.inc"

}  // namespace tandem::unicode::tables
