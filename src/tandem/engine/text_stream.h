#pragma once
// A completion's text as it grows token by token, for streaming: the bytes each token adds are
// released only once they form whole UTF-8 characters and cannot be the start of a stop string,
// so a client never sees half a character or the first letters of a stop it should not see.
// A stop string ends the text just before it (OpenAI's `stop`).
#include <string>
#include <string_view>
#include <vector>

namespace tandem {

class TextStream {
 public:
  explicit TextStream(std::vector<std::string> stop_strings = {});

  // Appends a token's bytes; returns the text newly safe to release (often empty).
  std::string add(std::string_view bytes);
  // At the end of generation: everything still held back.
  std::string finish();

  bool stopped() const { return stopped_; }      // a stop string appeared
  const std::string& text() const { return text_; }  // all text so far, cut before a stop string

 private:
  size_t safe_end() const;  // how much of text_ may be released now
  std::string release(size_t end);

  std::vector<std::string> stops_;
  std::string text_;
  size_t released_ = 0;
  bool stopped_ = false;
};

}  // namespace tandem
