#pragma once
// GPT-2's byte-level alphabet: each byte maps to one printable code point, so a vocabulary of
// byte strings can be stored as JSON text. Printable Latin-1 bytes map to themselves; the other
// 68 bytes map to U+0100 onward in byte order ("Ġ" is the space byte 0x20).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tandem::byte_level {

// The code point that stands for byte b.
uint32_t char_of(uint8_t b);

// Raw bytes -> byte-level text (UTF-8), e.g. " the" -> "Ġthe".
std::string encode(std::string_view bytes);

// Byte-level text -> raw bytes; nullopt when a character is outside the alphabet.
std::optional<std::string> decode(std::string_view text);

}  // namespace tandem::byte_level
