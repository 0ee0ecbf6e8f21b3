#pragma once
// Qwen2/Qwen3's pre-tokenizer split, written as a hand scanner instead of a regex engine:
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|
//   \s*[\r\n]+|\s+(?!\S)|\s+
// with the alternatives tried in order, as a backtracking engine does. \s is ECMAScript's set
// (the reference implementation runs in JavaScript). Invalid UTF-8 bytes count as "other"
// characters, so every byte lands in exactly one piece.
#include <cstddef>
#include <string_view>

namespace tandem {

// The exact pattern string found in Qwen2/Qwen3 tokenizer.json files.
extern const char* const kQwenSplitPattern;

// Length in bytes of the piece that starts at text[pos] (pos < text.size()); always >= 1.
size_t qwen_piece_length(std::string_view text, size_t pos);

// Calls emit(piece) for each consecutive piece of text.
template <typename Emit>
void split_qwen(std::string_view text, Emit&& emit) {
  for (size_t pos = 0; pos < text.size();) {
    const size_t len = qwen_piece_length(text, pos);
    emit(text.substr(pos, len));
    pos += len;
  }
}

}  // namespace tandem
