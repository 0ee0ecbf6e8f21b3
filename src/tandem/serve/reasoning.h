#pragma once
// Qwen3's reasoning, separated from the answer: "<think>\n...\n</think>\n\nanswer" becomes
// reasoning_content "\n...\n" and content "answer", as OpenAI-style clients expect from
// reasoning models. Works on a stream of text deltas: a piece of a tag is held back until it is
// known to be one (or not), so no client sees "</thi" in an answer.
#include <string>
#include <string_view>

namespace tandem::serve {

class ReasoningSplitter {
 public:
  struct Delta {
    std::string reasoning, content;
  };
  // thinking_prefilled: the prompt already opened the think block (so the text starts inside it).
  explicit ReasoningSplitter(bool thinking_prefilled = false);

  Delta add(std::string_view text);
  Delta finish();  // end of the completion: whatever is held back

 private:
  enum class Mode { Start, Thinking, Answer };
  Delta drain(bool final);

  Mode mode_;
  std::string pending_;
  bool answer_started_ = false;  // leading newlines of the answer are dropped
};

}  // namespace tandem::serve
