// Hugging Face tokenizer.json <-> Tokenizer. Every rejection names the file and the JSON path
// of the offending value, e.g. `tokenizer.json: model.merges[17]: merge names unknown token "ab"`.
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tandem/core/error.h"
#include "tandem/core/json_text.h"
#include "tandem/tokenizer/byte_level.h"
#include "tandem/tokenizer/pretokenizer.h"
#include "tandem/tokenizer/tokenizer.h"

namespace tandem {
namespace {
using json = nlohmann::json;
constexpr int64_t kMaxId = int64_t{1} << 24;  // far above any real vocabulary; bounds memory

const char* type_name(const json& v) { return v.type_name(); }

struct Ctx {
  const std::string& source;
  template <typename... Args>
  [[noreturn]] void fail_at(const std::string& path, fmt::format_string<Args...> f,
                            Args&&... args) const {
    throw Error(fmt::format("{}: {}: {}", source, path,
                            fmt::format(f, std::forward<Args>(args)...)));
  }
  const json& member(const json& obj, const std::string& path, const char* key) const {
    auto it = obj.find(key);
    if (it == obj.end()) fail_at(path.empty() ? key : path + "." + key, "missing");
    return *it;
  }
  const json& object(const json& v, const std::string& path) const {
    if (!v.is_object()) fail_at(path, "expected an object, found {}", type_name(v));
    return v;
  }
  const json& array(const json& v, const std::string& path) const {
    if (!v.is_array()) fail_at(path, "expected an array, found {}", type_name(v));
    return v;
  }
  const std::string& string(const json& v, const std::string& path) const {
    if (!v.is_string()) fail_at(path, "expected a string, found {}", type_name(v));
    return v.get_ref<const std::string&>();
  }
  bool boolean(const json& obj, const std::string& path, const char* key, bool dflt) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return dflt;
    if (!it->is_boolean()) fail_at(path + "." + key, "expected a boolean, found {}", type_name(*it));
    return it->get<bool>();
  }
  int32_t id(const json& v, const std::string& path) const {
    if (!v.is_number_integer()) fail_at(path, "expected an integer id, found {}", type_name(v));
    const int64_t x = v.get<int64_t>();
    if (x < 0 || x >= kMaxId) fail_at(path, "id {} is outside [0, {})", x, kMaxId);
    return static_cast<int32_t>(x);
  }
  // The "type" string of a component object.
  const std::string& type(const json& v, const std::string& path) const {
    object(v, path);
    return string(member(v, path, "type"), path + ".type");
  }
};

bool parse_normalizer(const Ctx& c, const json& root) {
  auto it = root.find("normalizer");
  if (it == root.end() || it->is_null()) return false;
  const std::string& t = c.type(*it, "normalizer");
  if (t == "NFC") return true;
  if (t == "Sequence") {
    const json& list = c.array(c.member(*it, "normalizer", "normalizers"), "normalizer.normalizers");
    bool nfc = false;
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string p = fmt::format("normalizer.normalizers[{}]", i);
      const std::string& ti = c.type(list[i], p);
      if (ti != "NFC") c.fail_at(p + ".type", "unsupported normalizer \"{}\" (tandem: NFC)", ti);
      nfc = true;
    }
    return nfc;
  }
  c.fail_at("normalizer.type", "unsupported normalizer \"{}\" (tandem: NFC or none)", t);
}

void check_byte_level(const Ctx& c, const json& v, const std::string& path) {
  if (c.type(v, path) != "ByteLevel")
    c.fail_at(path + ".type", "expected \"ByteLevel\", found \"{}\"", c.type(v, path));
  if (c.boolean(v, path, "add_prefix_space", false))
    c.fail_at(path + ".add_prefix_space", "true is not supported");
}

void parse_pre_tokenizer(const Ctx& c, const json& root) {
  const json& pt = c.member(root, "", "pre_tokenizer");
  const std::string& t = c.type(pt, "pre_tokenizer");
  if (t != "Sequence")
    c.fail_at("pre_tokenizer.type",
              "unsupported pre-tokenizer \"{}\" (tandem: Sequence of Split with Qwen's pattern "
              "and ByteLevel)", t);
  const json& list = c.array(c.member(pt, "pre_tokenizer", "pretokenizers"),
                             "pre_tokenizer.pretokenizers");
  if (list.size() != 2)
    c.fail_at("pre_tokenizer.pretokenizers", "expected 2 entries (Split, ByteLevel), found {}",
              list.size());
  const std::string p0 = "pre_tokenizer.pretokenizers[0]";
  if (c.type(list[0], p0) != "Split")
    c.fail_at(p0 + ".type", "expected \"Split\", found \"{}\"", c.type(list[0], p0));
  const json& pat = c.object(c.member(list[0], p0, "pattern"), p0 + ".pattern");
  const std::string& regex = c.string(c.member(pat, p0 + ".pattern", "Regex"), p0 + ".pattern.Regex");
  if (regex != kQwenSplitPattern)
    c.fail_at(p0 + ".pattern.Regex", "unsupported split pattern (tandem implements Qwen2/3's)");
  const std::string& behavior = c.string(c.member(list[0], p0, "behavior"), p0 + ".behavior");
  if (behavior != "Isolated") c.fail_at(p0 + ".behavior", "expected \"Isolated\", found \"{}\"", behavior);
  if (c.boolean(list[0], p0, "invert", false)) c.fail_at(p0 + ".invert", "true is not supported");
  const std::string p1 = "pre_tokenizer.pretokenizers[1]";
  check_byte_level(c, list[1], p1);
  if (c.boolean(list[1], p1, "use_regex", true))
    c.fail_at(p1 + ".use_regex", "expected false (the Split before it does the splitting)");
}

void parse_optional_byte_level(const Ctx& c, const json& root, const char* key) {
  auto it = root.find(key);
  if (it == root.end() || it->is_null()) return;
  check_byte_level(c, *it, key);
}

std::vector<AddedToken> parse_added(const Ctx& c, const json& root) {
  std::vector<AddedToken> out;
  auto it = root.find("added_tokens");
  if (it == root.end() || it->is_null()) return out;
  const json& list = c.array(*it, "added_tokens");
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string p = fmt::format("added_tokens[{}]", i);
    const json& o = c.object(list[i], p);
    AddedToken a;
    a.id = c.id(c.member(o, p, "id"), p + ".id");
    a.content = c.string(c.member(o, p, "content"), p + ".content");
    if (a.content.empty()) c.fail_at(p + ".content", "empty token");
    a.special = c.boolean(o, p, "special", false);
    a.lstrip = c.boolean(o, p, "lstrip", false);
    a.rstrip = c.boolean(o, p, "rstrip", false);
    a.single_word = c.boolean(o, p, "single_word", false);
    a.normalized = c.boolean(o, p, "normalized", !a.special);
    out.push_back(std::move(a));
  }
  return out;
}
}  // namespace

Tokenizer Tokenizer::from_json(const json& root, const std::string& source) {
  const Ctx c{source};
  try {
    c.object(root, "(root)");
    const json& model = c.object(c.member(root, "", "model"), "model");
    auto ti = model.find("type");
    if (ti != model.end()) {
      const std::string& t = c.string(*ti, "model.type");
      if (t != "BPE") c.fail_at("model.type", "unknown model type \"{}\" (tandem: BPE)", t);
    }
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix", "unk_token"}) {
      auto it = model.find(key);
      if (it != model.end() && !it->is_null() && !(it->is_string() && it->get_ref<const std::string&>().empty()))
        c.fail_at(std::string("model.") + key, "not supported by byte-level BPE (expected null)");
    }
    auto dr = model.find("dropout");
    if (dr != model.end() && !dr->is_null() && !(dr->is_number() && dr->get<double>() == 0.0))
      c.fail_at("model.dropout", "dropout is not supported (expected null)");
    const bool nfc = parse_normalizer(c, root);
    parse_pre_tokenizer(c, root);
    parse_optional_byte_level(c, root, "decoder");
    parse_optional_byte_level(c, root, "post_processor");

    // Vocabulary: byte-level text -> id.
    const json& vocab = c.object(c.member(model, "model", "vocab"), "model.vocab");
    std::unordered_map<std::string, int32_t> ids;
    ids.reserve(vocab.size());
    int32_t max_id = -1;
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
      const std::string p = fmt::format("model.vocab[{}]", json_text(json(it.key())));
      const int32_t id = c.id(it.value(), p);
      ids.emplace(it.key(), id);
      max_id = std::max(max_id, id);
    }
    std::vector<std::string> token_bytes(max_id + 1);
    std::vector<bool> seen(max_id + 1, false);
    for (const auto& [text, id] : ids) {
      const std::string p = fmt::format("model.vocab[{}]", json_text(json(text)));
      auto bytes = byte_level::decode(text);
      if (!bytes || bytes->empty()) c.fail_at(p, "token is not in the byte-level alphabet");
      if (seen[id]) c.fail_at(p, "id {} is used by two tokens", id);
      seen[id] = true;
      token_bytes[id] = std::move(*bytes);
    }
    // from_parts finds the byte tokens; checked here too, to name a missing one with its JSON path.
    for (int b = 0; b < 256; ++b) {
      std::string ch = byte_level::encode(std::string(1, static_cast<char>(b)));
      if (!ids.contains(ch))
        c.fail_at("model.vocab", "no token for byte 0x{:02X} (\"{}\"); byte-level BPE needs all 256",
                  b, ch);
    }

    // Merges, in rank order: "a b" strings (older files) or ["a", "b"] pairs.
    const json& merges_json = c.array(c.member(model, "model", "merges"), "model.merges");
    std::vector<BpeModel::Merge> merges;
    merges.reserve(merges_json.size());
    for (size_t i = 0; i < merges_json.size(); ++i) {
      const std::string p = fmt::format("model.merges[{}]", i);
      const json& m = merges_json[i];
      std::string a, b;
      if (m.is_string()) {
        const std::string& s = m.get_ref<const std::string&>();
        const size_t sp = s.find(' ');
        if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
          c.fail_at(p, "expected \"left right\", found {}", json_text(m));
        a = s.substr(0, sp);
        b = s.substr(sp + 1);
      } else if (m.is_array() && m.size() == 2) {
        a = c.string(m[0], p + "[0]");
        b = c.string(m[1], p + "[1]");
      } else {
        c.fail_at(p, "expected a string \"left right\" or a pair of strings, found {}", type_name(m));
      }
      auto ia = ids.find(a), ib = ids.find(b);
      if (ia == ids.end()) c.fail_at(p, "merge names unknown token {}", json_text(json(a)));
      if (ib == ids.end()) c.fail_at(p, "merge names unknown token {}", json_text(json(b)));
      auto im = ids.find(a + b);
      if (im == ids.end())
        c.fail_at(p, "merged token {} is not in model.vocab", json_text(json(a + b)));
      merges.push_back({ia->second, ib->second, im->second});
    }

    std::vector<AddedToken> added = parse_added(c, root);
    for (size_t i = 0; i < added.size(); ++i) {
      const auto& a = added[i];
      if (static_cast<size_t>(a.id) < token_bytes.size() && !token_bytes[a.id].empty()) {
        // An added token may repeat a vocab entry, but not claim another token's id.
        auto it = ids.find(byte_level::encode(a.content));
        if (it == ids.end() || it->second != a.id)
          c.fail_at(fmt::format("added_tokens[{}].id", i),
                    "id {} already belongs to vocab token {}", a.id,
                    json_text(json(byte_level::encode(token_bytes[a.id]))));
      }
      for (size_t k = 0; k < i; ++k)
        if (added[k].id == a.id || added[k].content == a.content)
          c.fail_at(fmt::format("added_tokens[{}]", i), "duplicates added_tokens[{}]", k);
    }

    return from_parts(std::move(token_bytes), std::move(merges), std::move(added), nfc);
  } catch (const nlohmann::json::exception& e) {
    // Type checks above should catch everything; this keeps a library bug from escaping raw.
    throw Error(fmt::format("{}: {}", source, e.what()));
  }
}

Tokenizer Tokenizer::from_json_string(std::string_view text, const std::string& source) {
  json root = parse_json_text(text, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    // Parse again with exceptions only to get the position of the error for the message.
    try {
      json again = parse_json_text(text);
    } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range ("1e999")
      throw Error(fmt::format("{}: not valid JSON: {}", source, e.what()));
    }
    throw Error(fmt::format("{}: not valid JSON", source));
  }
  return from_json(root, source);
}

Tokenizer Tokenizer::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  TANDEM_CHECK(in, "{}: cannot open", path);
  std::stringstream ss;
  ss << in.rdbuf();
  Tokenizer t = from_json_string(ss.str(), path);
  const auto slash = path.find_last_of('/');
  const std::string config = (slash == std::string::npos ? std::string() : path.substr(0, slash + 1)) +
                             "tokenizer_config.json";
  if (std::ifstream(config).good()) t.load_config(config);
  return t;
}

void Tokenizer::load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  TANDEM_CHECK(in, "{}: cannot open", path);
  std::stringstream text;
  text << in.rdbuf();
  json root = parse_json_text(text.str(), /*allow_exceptions=*/false);
  TANDEM_CHECK(root.is_object(), "{}: expected a JSON object", path);
  auto role = [&](const char* key) -> std::string {
    auto it = root.find(key);
    if (it == root.end() || it->is_null()) return {};
    // Older files store {"content": "<s>", ...} instead of the plain string.
    const json& v = it->is_object() && it->contains("content") ? (*it)["content"] : *it;
    TANDEM_CHECK(v.is_string(), "{}: {}: expected a string or null, found {}", path, key, v.type_name());
    const std::string s = v.get<std::string>();
    TANDEM_CHECK(find_token(s) >= 0, "{}: {}: token \"{}\" is not in the vocabulary", path, key, s);
    return s;
  };
  roles_ = {role("bos_token"), role("eos_token"), role("pad_token"), role("unk_token")};
}

nlohmann::ordered_json Tokenizer::to_json() const {
  using ojson = nlohmann::ordered_json;
  ojson added = ojson::array();
  for (const auto& a : added_)
    added.push_back({{"id", a.id}, {"content", a.content}, {"single_word", a.single_word},
                     {"lstrip", a.lstrip}, {"rstrip", a.rstrip}, {"normalized", a.normalized},
                     {"special", a.special}});
  ojson vocab = ojson::object();
  for (size_t id = 0; id < model_.size(); ++id)
    if (!model_.bytes_of(static_cast<int32_t>(id)).empty())
      vocab[byte_level::encode(model_.bytes_of(static_cast<int32_t>(id)))] = id;
  ojson merges = ojson::array();
  for (const auto& m : model_.merges())
    merges.push_back({byte_level::encode(model_.bytes_of(m.left)),
                      byte_level::encode(model_.bytes_of(m.right))});
  const ojson byte_level_cfg = {{"type", "ByteLevel"}, {"add_prefix_space", false},
                                {"trim_offsets", false}, {"use_regex", false}};
  ojson j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  j["added_tokens"] = added;
  j["normalizer"] = nfc_ ? ojson{{"type", "NFC"}} : ojson(nullptr);
  j["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Split"}, {"pattern", {{"Regex", kQwenSplitPattern}}}, {"behavior", "Isolated"},
         {"invert", false}},
        byte_level_cfg}}};
  j["post_processor"] = byte_level_cfg;
  j["decoder"] = byte_level_cfg;
  j["model"] = {{"type", "BPE"},
                {"dropout", nullptr},
                {"unk_token", nullptr},
                {"continuing_subword_prefix", ""},
                {"end_of_word_suffix", ""},
                {"fuse_unk", false},
                {"byte_fallback", false},
                {"ignore_merges", false},
                {"vocab", vocab},
                {"merges", merges}};
  return j;
}

void Tokenizer::save(const std::string& path) const {
  std::ofstream out(path, std::ios::binary);
  TANDEM_CHECK(out, "{}: cannot open for writing", path);
  out << json_text(to_json(), 2) << "\n";
  TANDEM_CHECK(out.good(), "{}: write failed", path);
}

void Tokenizer::save_config(const std::string& path) const {
  nlohmann::ordered_json j;
  auto role = [](const std::string& s) { return s.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(s); };
  j["tokenizer_class"] = "Qwen2Tokenizer";
  j["add_bos_token"] = false;
  j["bos_token"] = role(roles_.bos);
  j["eos_token"] = role(roles_.eos);
  j["pad_token"] = role(roles_.pad);
  j["unk_token"] = role(roles_.unk);
  j["clean_up_tokenization_spaces"] = false;
  std::ofstream out(path, std::ios::binary);
  TANDEM_CHECK(out, "{}: cannot open for writing", path);
  out << json_text(j, 2) << "\n";
  TANDEM_CHECK(out.good(), "{}: write failed", path);
}

Tokenizer Tokenizer::from_parts(std::vector<std::string> token_bytes,
                                std::vector<BpeModel::Merge> merges, std::vector<AddedToken> added,
                                bool nfc) {
  std::array<int32_t, 256> byte_ids{};
  byte_ids.fill(-1);
  for (size_t id = 0; id < token_bytes.size(); ++id)
    if (token_bytes[id].size() == 1) byte_ids[static_cast<uint8_t>(token_bytes[id][0])] = static_cast<int32_t>(id);
  for (int b = 0; b < 256; ++b) TANDEM_CHECK(byte_ids[b] >= 0, "[tokenizer] no token for byte {}", b);
  Tokenizer t;
  t.model_ = BpeModel(std::move(token_bytes), byte_ids, std::move(merges));
  t.added_ = std::move(added);
  t.nfc_ = nfc;
  t.finish();
  return t;
}

Tokenizer Tokenizer::bytes_only(const std::vector<std::string>& special_tokens) {
  std::vector<std::string> bytes(256);
  for (int b = 0; b < 256; ++b) bytes[b] = std::string(1, static_cast<char>(b));
  std::vector<AddedToken> added;
  for (const auto& s : special_tokens) added.push_back({s, static_cast<int32_t>(256 + added.size())});
  return from_parts(std::move(bytes), {}, std::move(added), /*nfc=*/false);
}

}  // namespace tandem
