#pragma once
// Reading JSON files with errors a user can act on: syntax errors as "line L, column C", and typed
// field access whose errors name the file, the field, what was expected and what was found.
// Shared by config.json, tokenizer.json, trainer state and the safetensors header.
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace tandem {

// Parses `text`; a syntax error throws "<where>: line L, column C: JSON syntax error: ...".
nlohmann::json parse_json(std::string_view text, const std::string& where);
nlohmann::json read_json_file(const std::string& path);
// Turns an exception from parsing `text` into that message (for callers with their own parse).
// Besides parse_error, nlohmann throws out_of_range for numbers beyond double ("1e400").
[[noreturn]] void fail_json_syntax(const nlohmann::json::exception& e, std::string_view text,
                                   const std::string& where);
// Pretty-printed (indent 2), newline-terminated, written atomically (see io/file.h).
void write_json_file(const std::string& path, const nlohmann::json& j);

// A short one-line description of a value for error messages: `string "abc"`, `number 1.5`,
// `boolean true`, `null`, `an array`, `an object` (long strings are cut).
std::string describe_json(const nlohmann::json& v);

// Typed, checked access to the fields of one JSON object. A field set to null counts as absent,
// as HF configs write `"bos_token_id": null`.
class JsonFields {
 public:
  // Throws "<where>: expected a JSON object, got ..." when `obj` is not an object.
  JsonFields(const nlohmann::json& obj, std::string where);
  JsonFields(nlohmann::json&&, std::string) = delete;  // it keeps a reference: no temporaries

  const nlohmann::json* find(std::string_view key) const;  // nullptr when absent or null
  bool has(std::string_view key) const { return find(key) != nullptr; }

  // Required fields: "<where>: missing field 'k' (expected ...)" or
  // "<where>: field 'k': expected an integer, got string "abc"".
  int64_t get_int(std::string_view key, int64_t lo = std::numeric_limits<int64_t>::min(),
                  int64_t hi = std::numeric_limits<int64_t>::max()) const;
  double get_number(std::string_view key) const;  // any finite JSON number
  bool get_bool(std::string_view key) const;
  std::string get_string(std::string_view key) const;

  std::optional<int64_t> opt_int(std::string_view key,
                                 int64_t lo = std::numeric_limits<int64_t>::min(),
                                 int64_t hi = std::numeric_limits<int64_t>::max()) const;
  std::optional<double> opt_number(std::string_view key) const;
  std::optional<bool> opt_bool(std::string_view key) const;
  std::optional<std::string> opt_string(std::string_view key) const;

  // Integer check on a value already found (e.g. an element of a list field).
  int64_t as_int(std::string_view key, const nlohmann::json& v, int64_t lo, int64_t hi) const;
  // Throws "<where>: field 'k': expected <expected>, got <describe_json(got)>".
  [[noreturn]] void wrong(std::string_view key, std::string_view expected,
                          const nlohmann::json& got) const;
  [[noreturn]] void missing(std::string_view key, std::string_view expected) const;

  const nlohmann::json& object() const { return obj_; }
  const std::string& where() const { return where_; }

 private:
  const nlohmann::json& obj_;
  std::string where_;
};

}  // namespace tandem
