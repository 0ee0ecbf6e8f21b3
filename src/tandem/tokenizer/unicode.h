#pragma once
// Unicode facts for the tokenizer: UTF-8 decoding that never fails (an invalid byte is one
// "other" character, so any byte string survives encode/decode), character classes for the
// pre-tokenizer, and NFC normalization. Tables come from gen_unicode_tables.py.
#include <cstdint>
#include <string>
#include <string_view>

namespace tandem::unicode {

enum Flags : uint8_t { kLetter = 1, kNumber = 2, kSpace = 4, kNfcUnsafe = 8 };

// Flags of a code point (0 for code points past U+10FFFF).
uint8_t flags(uint32_t cp);

// Decodes the character at s[i]. Returns its byte length (1..4); an invalid or truncated
// sequence yields length 1 and cp = kInvalid.
inline constexpr uint32_t kInvalid = 0xFFFFFFFF;
int decode_utf8(std::string_view s, size_t i, uint32_t& cp);

// Appends the UTF-8 encoding of cp.
void append_utf8(std::string& out, uint32_t cp);

// Unicode version the tables were generated from.
unsigned tables_version();

// NFC-normalizes text. Invalid UTF-8 bytes pass through unchanged. Returns false and leaves
// `out` untouched when the text is already NFC (the common case, checked without copying).
bool nfc(std::string_view text, std::string& out);

}  // namespace tandem::unicode
