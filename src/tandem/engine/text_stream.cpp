#include "tandem/engine/text_stream.h"

#include <algorithm>

namespace tandem {

namespace {
// Bytes at the end of s that begin a UTF-8 character whose continuation bytes have not arrived.
size_t incomplete_utf8_tail(const std::string& s) {
  const size_t n = s.size();
  for (size_t back = 1; back <= std::min<size_t>(4, n); ++back) {
    const unsigned char c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    const size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;  // only continuation bytes (invalid UTF-8): nothing to wait for
}
}  // namespace

TextStream::TextStream(std::vector<std::string> stop_strings) : stops_(std::move(stop_strings)) {
  std::erase(stops_, std::string());
}

std::string TextStream::add(std::string_view bytes) {
  if (stopped_) return {};
  const size_t before = text_.size();
  text_ += bytes;
  // A stop string ends inside the new bytes; the earliest one wins.
  size_t cut = std::string::npos;
  for (const std::string& stop : stops_) {
    const size_t from = before >= stop.size() ? before - stop.size() + 1 : 0;
    const size_t at = text_.find(stop, from);
    cut = std::min(cut, at);
  }
  if (cut != std::string::npos) {
    text_.resize(std::max(cut, released_));
    stopped_ = true;
    return release(text_.size());
  }
  return release(safe_end());
}

std::string TextStream::finish() { return release(text_.size()); }

size_t TextStream::safe_end() const {
  size_t hold = incomplete_utf8_tail(text_);
  for (const std::string& stop : stops_)
    for (size_t k = std::min(stop.size() - 1, text_.size()); k > hold; --k)
      if (text_.compare(text_.size() - k, k, stop, 0, k) == 0) {
        hold = k;  // the text ends with the first k bytes of this stop
        break;
      }
  return std::max(released_, text_.size() - hold);
}

std::string TextStream::release(size_t end) {
  std::string out = text_.substr(released_, end - released_);
  released_ = end;
  return out;
}

}  // namespace tandem
