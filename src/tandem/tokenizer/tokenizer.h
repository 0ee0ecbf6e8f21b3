#pragma once
// tandem's tokenizer: byte-level BPE that reads and writes Hugging Face tokenizer.json and gives
// the same token ids as Qwen3's reference tokenizer. Pipeline of encode():
//   split out added tokens -> NFC (if the file asks) -> Qwen split scanner -> BPE per piece.
// decode() maps ids back to their bytes, so decode(encode(x)) == x for any byte string.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tandem/tokenizer/bpe.h"

namespace tandem {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = true;
  bool lstrip = false;       // eat whitespace before the token
  bool rstrip = false;       // eat whitespace after the token
  bool single_word = false;  // kept for round trips; not applied when matching
  bool normalized = false;
};

// Token roles from tokenizer_config.json (strings; empty when unset).
struct SpecialRoles {
  std::string bos, eos, pad, unk;
};

class Tokenizer {
 public:
  // Reads tokenizer.json, and tokenizer_config.json from the same folder when present.
  static Tokenizer load(const std::string& tokenizer_json_path);
  // `source` names the file in error messages.
  static Tokenizer from_json(const nlohmann::json& j, const std::string& source = "tokenizer.json");
  static Tokenizer from_json_string(std::string_view text,
                                    const std::string& source = "tokenizer.json");
  // Builds a tokenizer from parts (what the trainer produces). Byte tokens are ids 0..255 when
  // token_bytes starts with them; special tokens are appended as added tokens.
  static Tokenizer from_parts(std::vector<std::string> token_bytes,
                              std::vector<BpeModel::Merge> merges,
                              std::vector<AddedToken> added, bool nfc);
  // The smallest useful tokenizer: 256 byte tokens, no merges, then the given special tokens.
  static Tokenizer bytes_only(const std::vector<std::string>& special_tokens);

  nlohmann::ordered_json to_json() const;
  void save(const std::string& tokenizer_json_path) const;
  // Writes a tokenizer_config.json holding the special-token roles.
  void save_config(const std::string& tokenizer_config_path) const;
  // Applies roles from a tokenizer_config.json file (bos_token, eos_token, pad_token, unk_token).
  void load_config(const std::string& tokenizer_config_path);
  void set_roles(SpecialRoles roles) { roles_ = std::move(roles); }

  // allow_special=false treats the text of special added tokens as plain text.
  std::vector<int32_t> encode(std::string_view text, bool allow_special = true) const;
  // Same ids as encode(), computed by `threads` threads on chunks cut where no piece can span.
  std::vector<int32_t> encode_parallel(std::string_view text, int threads,
                                       bool allow_special = true) const;
  std::string decode(std::span<const int32_t> ids) const;

  // Id of a token given as text (an added token's content or a vocab entry in byte-level form);
  // throws when absent. find_token returns -1 instead.
  int32_t token_id(std::string_view token) const;
  int32_t find_token(std::string_view token) const;
  // A token's text: added token content, or the byte-level form of a vocab entry.
  std::string token_text(int32_t id) const;
  int vocab_size() const { return vocab_size_; }

  // Special-token ids by role; -1 when the role is unset.
  int32_t bos_id() const { return role_id(roles_.bos); }
  int32_t eos_id() const { return role_id(roles_.eos); }
  int32_t pad_id() const { return role_id(roles_.pad); }
  const SpecialRoles& roles() const { return roles_; }

  const BpeModel& model() const { return model_; }
  const std::vector<AddedToken>& added_tokens() const { return added_; }
  bool uses_nfc() const { return nfc_; }

 private:
  void finish();  // builds lookup tables after the fields are set
  int32_t role_id(const std::string& s) const { return s.empty() ? -1 : find_token(s); }
  // Longest added token starting at text[pos] (index into added_), or -1.
  int match_added(std::string_view text, size_t pos, bool allow_special) const;
  void encode_text(std::string_view text, std::vector<int32_t>& out) const;
  void encode_into(std::string_view text, bool allow_special, std::vector<int32_t>& out) const;

  BpeModel model_;
  std::vector<AddedToken> added_;
  bool nfc_ = false;
  SpecialRoles roles_;
  int vocab_size_ = 0;
  uint64_t cache_owner_ = 0;  // identifies this vocabulary in the per-thread piece caches
  std::unordered_map<std::string, int32_t> vocab_text_;  // byte-level text -> id
  std::vector<int32_t> added_of_id_;                     // id -> index into added_, or -1
  std::vector<std::vector<int>> added_by_byte_;          // first byte -> added_ indices
  bool added_has_newline_ = false;
  std::array<bool, 256> added_first_{};
};

}  // namespace tandem
