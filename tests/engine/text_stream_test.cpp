// Streaming text: whole UTF-8 characters only, stop strings never leak, and what is streamed adds
// up to the final text.
#include "tandem/engine/text_stream.h"

#include <gtest/gtest.h>

namespace tandem {
namespace {

std::string stream(TextStream& ts, const std::vector<std::string>& pieces) {
  std::string out;
  for (const auto& p : pieces) out += ts.add(p);
  return out + ts.finish();
}

TEST(TextStream, HoldsBackIncompleteUtf8) {
  TextStream ts;
  const std::string euro = "\xE2\x82\xAC";  // U+20AC, three bytes
  EXPECT_EQ(ts.add("a"), "a");
  EXPECT_EQ(ts.add(euro.substr(0, 1)), "");
  EXPECT_EQ(ts.add(euro.substr(1, 1)), "");
  EXPECT_EQ(ts.add(euro.substr(2)), euro);
  EXPECT_EQ(ts.add("\xF0\x9F"), "");  // half of a four-byte emoji
  EXPECT_EQ(ts.finish(), "\xF0\x9F");  // at the end everything goes out
  EXPECT_EQ(ts.text(), "a" + euro + "\xF0\x9F");
}

TEST(TextStream, StopStringEndsTextBeforeIt) {
  TextStream ts({"</answer>", "STOP"});
  EXPECT_EQ(ts.add("x = 4"), "x = 4");
  EXPECT_EQ(ts.add(" </ans"), " ");  // "</ans" may begin a stop: held back
  EXPECT_FALSE(ts.stopped());
  EXPECT_EQ(ts.add("wer> and more"), "");
  EXPECT_TRUE(ts.stopped());
  EXPECT_EQ(ts.text(), "x = 4 ");
  EXPECT_EQ(ts.add("ignored"), "");
  EXPECT_EQ(ts.finish(), "");
}

TEST(TextStream, FalseStartIsReleased) {
  TextStream ts({"STOP"});
  EXPECT_EQ(ts.add("ST"), "");
  EXPECT_EQ(ts.add("ART"), "START");
  EXPECT_FALSE(ts.stopped());
}

TEST(TextStream, StopInsideOneTokenAndEarliestWins) {
  TextStream ts({"bc", "b"});
  EXPECT_EQ(stream(ts, {"abcd"}), "a");
  EXPECT_TRUE(ts.stopped());
}

TEST(TextStream, StreamedPiecesAddUpToText) {
  // Every split of a string with multi-byte characters and a stop string.
  const std::string s = "h\xC3\xA9llo w\xE2\x82\xACrld<end>tail";
  for (size_t a = 0; a <= s.size(); ++a)
    for (size_t b = a; b <= s.size(); ++b) {
      TextStream ts({"<end>"});
      const std::string out = stream(ts, {s.substr(0, a), s.substr(a, b - a), s.substr(b)});
      ASSERT_EQ(out, "h\xC3\xA9llo w\xE2\x82\xACrld") << a << " " << b;
      ASSERT_EQ(ts.text(), out);
    }
}

}  // namespace
}  // namespace tandem
