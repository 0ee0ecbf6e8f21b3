#include "tandem/tokenizer/pretokenizer.h"

#include <array>
#include <cstdint>

#include "tandem/tokenizer/unicode.h"

namespace tandem {

const char* const kQwenSplitPattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

namespace {

enum Class : uint8_t { kOther = 0, kLetter = 1, kNumber = 2, kSpace = 3, kNewline = 4 };

// ASCII classes come from a table; everything else from the Unicode flags.
constexpr std::array<uint8_t, 128> make_ascii() {
  std::array<uint8_t, 128> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[c] = kLetter;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = kLetter;
  for (int c = '0'; c <= '9'; ++c) t[c] = kNumber;
  t[' '] = t['\t'] = t['\v'] = t['\f'] = kSpace;
  t['\r'] = t['\n'] = kNewline;
  return t;
}
constexpr std::array<uint8_t, 128> kAscii = make_ascii();

struct Char {
  uint8_t cls;
  uint8_t len;
};

inline Char char_at(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return {kAscii[c], 1};
  uint32_t cp;
  const int len = unicode::decode_utf8(s, i, cp);
  if (cp == unicode::kInvalid) return {kOther, 1};
  const uint8_t f = unicode::flags(cp);
  const uint8_t cls = (f & unicode::kLetter)   ? kLetter
                      : (f & unicode::kNumber) ? kNumber
                      : (f & unicode::kSpace)  ? kSpace
                                               : kOther;
  return {cls, static_cast<uint8_t>(len)};
}

inline bool is_space(uint8_t cls) { return cls == kSpace || cls == kNewline; }

// End of the run of characters of class `cls` starting at i.
inline size_t run_end(std::string_view s, size_t i, uint8_t cls) {
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (kAscii[c] != cls) break;
      ++i;
      continue;
    }
    const Char ch = char_at(s, i);
    if (ch.cls != cls) break;
    i += ch.len;
  }
  return i;
}

inline size_t newline_run_end(std::string_view s, size_t i) {
  while (i < s.size() && (s[i] == '\r' || s[i] == '\n')) ++i;
  return i;
}

inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// (?i:'s|'t|'re|'ve|'m|'ll|'d) at pos; returns the match length or 0.
inline size_t contraction(std::string_view s, size_t pos) {
  if (pos + 1 >= s.size()) return 0;
  const char a = lower(s[pos + 1]);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (pos + 2 >= s.size()) return 0;
  const char b = lower(s[pos + 2]);
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

}  // namespace

size_t qwen_piece_length(std::string_view s, size_t pos) {
  const size_t n = s.size();
  if (s[pos] == '\'') {
    if (size_t len = contraction(s, pos)) return len;
  }
  const Char c0 = char_at(s, pos);
  const size_t p1 = pos + c0.len;
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (c0.cls == kLetter) return run_end(s, p1, kLetter) - pos;
  if (c0.cls != kNewline && c0.cls != kNumber && p1 < n && char_at(s, p1).cls == kLetter)
    return run_end(s, p1, kLetter) - pos;
  // \p{N}
  if (c0.cls == kNumber) return c0.len;
  // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
  if (s[pos] == ' ' && p1 < n && char_at(s, p1).cls == kOther)
    return newline_run_end(s, run_end(s, p1, kOther)) - pos;
  if (c0.cls == kOther) return newline_run_end(s, run_end(s, p1, kOther)) - pos;
  // c0 is whitespace. Find the whole run and the last newline in it.
  size_t end = pos, last_nl = SIZE_MAX, last_start = pos;
  while (end < n) {
    const Char ch = char_at(s, end);
    if (!is_space(ch.cls)) break;
    if (ch.cls == kNewline) last_nl = end;
    last_start = end;
    end += ch.len;
  }
  // \s*[\r\n]+ : up to and including the last newline of the run.
  if (last_nl != SIZE_MAX) return last_nl + 1 - pos;
  // \s+(?!\S) : the whole run at the end of text, else all but its last character.
  if (end == n) return end - pos;
  if (last_start > pos) return last_start - pos;
  // \s+
  return end - pos;
}

}  // namespace tandem
