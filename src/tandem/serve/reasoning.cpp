#include "tandem/serve/reasoning.h"

#include <algorithm>

namespace tandem::serve {

namespace {
constexpr std::string_view kOpen = "<think>", kClose = "</think>";

// The longest suffix of s that is a proper prefix of tag: it may grow into the tag.
size_t partial_tag(const std::string& s, std::string_view tag) {
  for (size_t k = std::min(tag.size() - 1, s.size()); k > 0; --k)
    if (s.compare(s.size() - k, k, tag.substr(0, k)) == 0) return k;
  return 0;
}
}  // namespace

ReasoningSplitter::ReasoningSplitter(bool thinking_prefilled)
    : mode_(thinking_prefilled ? Mode::Thinking : Mode::Start) {}

ReasoningSplitter::Delta ReasoningSplitter::add(std::string_view text) {
  pending_ += text;
  return drain(false);
}

ReasoningSplitter::Delta ReasoningSplitter::finish() { return drain(true); }

ReasoningSplitter::Delta ReasoningSplitter::drain(bool final) {
  Delta out;
  while (!pending_.empty()) {
    if (mode_ == Mode::Start) {  // a completion that opens with <think> is reasoning first
      const size_t first = pending_.find_first_not_of(" \n");
      if (first == std::string::npos && !final) return out;
      const std::string_view rest = first == std::string::npos
                                        ? std::string_view()
                                        : std::string_view(pending_).substr(first);
      if (rest.substr(0, kOpen.size()) == kOpen) {
        pending_.erase(0, first + kOpen.size());
        mode_ = Mode::Thinking;
        continue;
      }
      if (!final && kOpen.substr(0, rest.size()) == rest) return out;  // may still become <think>
      mode_ = Mode::Answer;
      continue;
    }
    if (mode_ == Mode::Thinking) {
      const size_t close = pending_.find(kClose);
      if (close != std::string::npos) {
        out.reasoning += pending_.substr(0, close);
        pending_.erase(0, close + kClose.size());
        mode_ = Mode::Answer;
        continue;
      }
      const size_t hold = final ? 0 : partial_tag(pending_, kClose);
      out.reasoning += pending_.substr(0, pending_.size() - hold);
      pending_.erase(0, pending_.size() - hold);
      return out;
    }
    // Answer: everything, but the newlines that separate it from the reasoning.
    if (!answer_started_) {
      const size_t first = pending_.find_first_not_of('\n');
      if (first == std::string::npos) {
        if (final) pending_.clear();
        return out;
      }
      pending_.erase(0, first);
      answer_started_ = true;
    }
    out.content += pending_;
    pending_.clear();
  }
  return out;
}

}  // namespace tandem::serve
