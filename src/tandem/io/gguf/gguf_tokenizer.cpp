#include "tandem/io/gguf/gguf_tokenizer.h"

#include <unordered_map>

#include "tandem/core/error.h"
#include "tandem/io/safetensors.h"  // printable_name
#include "tandem/tokenizer/byte_level.h"

namespace tandem::gguf {
namespace {

constexpr uint64_t kMaxTokens = uint64_t{1} << 24;  // as tokenizer.json's reader allows

// The converter marks an added token CONTROL when it is special or looks special.
bool looks_special(const std::string& s) {
  return s.size() >= 4 && s.starts_with("<|") && s.ends_with("|>");
}

}  // namespace

void write_tokenizer(GgufWriter& w, const Tokenizer& tok, const TokenizerIds& ids) {
  TANDEM_CHECK(ids.n_vocab >= tok.vocab_size(),
               "gguf export: the tokenizer has {} tokens but the model only {} embedding rows",
               tok.vocab_size(), ids.n_vocab);
  const BpeModel& bpe = tok.model();
  std::vector<std::string> tokens(size_t(ids.n_vocab));
  std::vector<int32_t> types(size_t(ids.n_vocab), kTokenUnused);
  for (int id = 0; id < ids.n_vocab; ++id) {
    if (size_t(id) < bpe.size() && !bpe.bytes_of(id).empty()) {
      tokens[id] = byte_level::encode(bpe.bytes_of(id));
      types[id] = kTokenNormal;
    } else {
      tokens[id] = fmt::format("[PAD{}]", id);
    }
  }
  // Added tokens win over a vocab entry with the same id, as in the converter.
  for (const AddedToken& a : tok.added_tokens()) {
    tokens[a.id] = a.content;
    types[a.id] = a.special || looks_special(a.content) ? kTokenControl : kTokenUserDefined;
  }
  std::vector<std::string> merges;
  merges.reserve(bpe.merges().size());
  for (const auto& m : bpe.merges())
    merges.push_back(byte_level::encode(bpe.bytes_of(m.left)) + " " +
                     byte_level::encode(bpe.bytes_of(m.right)));

  w.set("tokenizer.ggml.model", Value::string("gpt2"));
  w.set("tokenizer.ggml.pre", Value::string("qwen2"));  // the only split tandem implements
  w.set("tokenizer.ggml.tokens", Value::strings(std::move(tokens)));
  w.set("tokenizer.ggml.token_type", Value::i32s(types));
  w.set("tokenizer.ggml.merges", Value::strings(std::move(merges)));
  const auto id_or = [](int32_t role, int fallback) { return role >= 0 ? role : fallback; };
  if (const int bos = id_or(tok.bos_id(), ids.bos); bos >= 0)
    w.set("tokenizer.ggml.bos_token_id", Value::u32(uint32_t(bos)));
  if (const int eos = id_or(tok.eos_id(), ids.eos); eos >= 0)
    w.set("tokenizer.ggml.eos_token_id", Value::u32(uint32_t(eos)));
  if (tok.pad_id() >= 0)
    w.set("tokenizer.ggml.padding_token_id", Value::u32(uint32_t(tok.pad_id())));
  w.set("tokenizer.ggml.add_bos_token", Value::boolean(false));
  w.set("tokenizer.tandem.nfc", Value::boolean(tok.uses_nfc()));
}

Tokenizer read_tokenizer(const GgufReader& r) {
  const std::string& p = r.path();
  const std::string& model = r.get_string("tokenizer.ggml.model");
  TANDEM_CHECK(model == "gpt2", "{}: tokenizer '{}' (tandem reads byte-level BPE, \"gpt2\")",
               r.where("tokenizer.ggml.model"), printable_name(model));
  const std::string& pre = r.get_string("tokenizer.ggml.pre");
  TANDEM_CHECK(pre == "qwen2",
               "{}: pre-tokenizer '{}' (tandem implements Qwen2/3's split, \"qwen2\")",
               r.where("tokenizer.ggml.pre"), printable_name(pre));
  const auto& tokens = r.get("tokenizer.ggml.tokens").as_strings(r.where("tokenizer.ggml.tokens"));
  TANDEM_CHECK(!tokens.empty() && tokens.size() <= kMaxTokens, "{}: {} tokens (expected 1 to {})",
               r.where("tokenizer.ggml.tokens"), tokens.size(), kMaxTokens);
  std::vector<int64_t> types(tokens.size(), kTokenNormal);
  if (r.find("tokenizer.ggml.token_type")) {
    types = r.get("tokenizer.ggml.token_type").as_ints(r.where("tokenizer.ggml.token_type"));
    TANDEM_CHECK(types.size() == tokens.size(), "{}: {} entries for {} tokens",
                 r.where("tokenizer.ggml.token_type"), types.size(), tokens.size());
  }

  std::vector<std::string> token_bytes;
  std::vector<AddedToken> added;
  std::unordered_map<std::string, int32_t> vocab;  // byte-level text -> id
  std::unordered_map<std::string, int32_t> added_ids;
  for (size_t id = 0; id < tokens.size(); ++id) {
    const std::string where = fmt::format("{}: tokenizer.ggml.tokens[{}]", p, id);
    const std::string& text = tokens[id];
    switch (types[id]) {
      case kTokenNormal: {
        const auto bytes = byte_level::decode(text);
        TANDEM_CHECK(bytes && !bytes->empty(), "{}: \"{}\" is not byte-level BPE text", where,
                     printable_name(text));
        TANDEM_CHECK(vocab.emplace(text, int32_t(id)).second, "{}: \"{}\" appears twice", where,
                     printable_name(text));
        if (token_bytes.size() <= id) token_bytes.resize(id + 1);
        token_bytes[id] = *bytes;
        break;
      }
      case kTokenControl:
      case kTokenUserDefined: {
        TANDEM_CHECK(!text.empty(), "{}: empty added token", where);
        TANDEM_CHECK(added_ids.emplace(text, int32_t(id)).second, "{}: \"{}\" appears twice", where,
                     printable_name(text));
        AddedToken a;
        a.content = text;
        a.id = int32_t(id);
        a.special = types[id] == kTokenControl;
        added.push_back(std::move(a));
        break;
      }
      case kTokenUnused:
        break;  // padding rows: no token
      default:
        fail("{}: token type {} (tandem reads 1 normal, 3 control, 4 user-defined, 5 unused)",
             where, types[id]);
    }
  }
  for (int b = 0; b < 256; ++b) {
    const auto it = vocab.find(byte_level::encode(std::string(1, char(b))));
    TANDEM_CHECK(it != vocab.end(), "{}: tokenizer.ggml.tokens: no token for byte 0x{:02x}", p, b);
  }

  std::vector<BpeModel::Merge> merges;
  if (r.find("tokenizer.ggml.merges")) {
    const auto& list = r.get("tokenizer.ggml.merges").as_strings(r.where("tokenizer.ggml.merges"));
    merges.reserve(list.size());
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string where = fmt::format("{}: tokenizer.ggml.merges[{}]", p, i);
      const std::string& s = list[i];
      const size_t sp = s.find(' ');
      TANDEM_CHECK(sp != std::string::npos && s.find(' ', sp + 1) == std::string::npos,
                   "{}: expected \"left right\", found \"{}\"", where, printable_name(s));
      const std::string a = s.substr(0, sp), b = s.substr(sp + 1);
      const auto ia = vocab.find(a), ib = vocab.find(b), im = vocab.find(a + b);
      TANDEM_CHECK(ia != vocab.end() && ib != vocab.end(), "{}: \"{}\" names an unknown token",
                   where, printable_name(s));
      TANDEM_CHECK(im != vocab.end(), "{}: merged token \"{}\" is not a token", where,
                   printable_name(a + b));
      merges.push_back({ia->second, ib->second, im->second});
    }
  }
  bool nfc = false;
  if (r.find("tokenizer.tandem.nfc")) nfc = r.get_bool("tokenizer.tandem.nfc");

  Tokenizer tok =
      Tokenizer::from_parts(std::move(token_bytes), std::move(merges), std::move(added), nfc);
  const auto role = [&](const char* key) -> std::string {
    if (!r.find(key)) return {};
    const uint64_t id = r.get_uint(key);
    TANDEM_CHECK(id < tokens.size() && types[id] != kTokenUnused, "{}: id {} is not a token",
                 r.where(key), id);
    return tok.token_text(int32_t(id));
  };
  tok.set_roles({.bos = role("tokenizer.ggml.bos_token_id"),
                 .eos = role("tokenizer.ggml.eos_token_id"),
                 .pad = role("tokenizer.ggml.padding_token_id"),
                 .unk = role("tokenizer.ggml.unknown_token_id")});
  return tok;
}

}  // namespace tandem::gguf
