#include "tandem/io/json_file.h"

#include <algorithm>
#include <cmath>

#include "tandem/core/error.h"
#include "tandem/core/json_text.h"
#include "tandem/io/file.h"

namespace tandem {

using nlohmann::json;

void fail_json_syntax(const nlohmann::json::exception& ex, std::string_view text,
                      const std::string& where) {
  std::string detail = ex.what();  // "[json.exception.<kind>.<id>] <explanation>"
  if (const size_t bracket = detail.find("] "); bracket != std::string::npos) {
    detail.erase(0, bracket + 2);
  }
  const auto* parse_error = dynamic_cast<const json::parse_error*>(&ex);
  if (!parse_error) fail("{}: invalid JSON: {}", where, detail);
  const json::parse_error& e = *parse_error;
  // e.byte counts the characters read, so the offending one is at index byte - 1.
  const size_t pos = std::min(e.byte > 0 ? e.byte - 1 : 0, text.size());
  const size_t line = 1 + size_t(std::count(text.begin(), text.begin() + pos, '\n'));
  const size_t bol = pos == 0 ? std::string_view::npos : text.rfind('\n', pos - 1);
  const size_t column = bol == std::string_view::npos ? pos + 1 : pos - bol;
  // The explanation reads "parse error at line 1, column 2: syntax error while parsing ...";
  // keep what follows the position.
  if (const size_t colon = detail.find(": "); colon != std::string::npos)
    detail.erase(0, colon + 2);
  if (detail.starts_with("syntax error ")) detail.erase(0, 13);
  fail("{}: line {}, column {}: JSON syntax error: {}", where, line, column, detail);
}

nlohmann::json parse_json(std::string_view text, const std::string& where) {
  try {
    return parse_json_text(text);
  } catch (const json::exception& e) {
    fail_json_syntax(e, text, where);
  }
}

nlohmann::json read_json_file(const std::string& path) {
  return parse_json(read_file(path), path);
}

void write_json_file(const std::string& path, const nlohmann::json& j) {
  write_file_atomic(path, json_text(j, 2, InvalidUtf8::kReplace) + "\n");
}

std::string describe_json(const nlohmann::json& v) {
  if (v.is_null()) return "null";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  std::string s = json_text(v, -1, InvalidUtf8::kReplace);
  if (s.size() > 60) {
    size_t cut = 57;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) --cut;  // UTF-8 start
    s = s.substr(0, cut) + "...";
  }
  if (v.is_string()) return "string " + s;
  if (v.is_boolean()) return "boolean " + s;
  return "number " + s;
}

namespace {

std::string int_expected(int64_t lo, int64_t hi) {
  if (lo == 1) return "a positive integer";
  if (lo == 0) return "a non-negative integer";
  if (lo == std::numeric_limits<int64_t>::min() && hi == std::numeric_limits<int64_t>::max()) {
    return "an integer";
  }
  return fmt::format("an integer in [{}, {}]", lo, hi);
}

}  // namespace

JsonFields::JsonFields(const nlohmann::json& obj, std::string where)
    : obj_(obj), where_(std::move(where)) {
  TANDEM_CHECK(obj.is_object(), "{}: expected a JSON object, got {}", where_, describe_json(obj));
}

const nlohmann::json* JsonFields::find(std::string_view key) const {
  const auto it = obj_.find(key);
  if (it == obj_.end() || it->is_null()) return nullptr;
  return &*it;
}

void JsonFields::wrong(std::string_view key, std::string_view expected,
                       const nlohmann::json& got) const {
  fail("{}: field '{}': expected {}, got {}", where_, key, expected, describe_json(got));
}

void JsonFields::missing(std::string_view key, std::string_view expected) const {
  fail("{}: missing field '{}' (expected {})", where_, key, expected);
}

int64_t JsonFields::as_int(std::string_view key, const nlohmann::json& v, int64_t lo,
                           int64_t hi) const {
  const std::string expected = int_expected(lo, hi);
  if (!v.is_number_integer()) wrong(key, expected, v);
  if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())) {
    fail("{}: field '{}': expected {}, got {} (larger than {})", where_, key, expected,
         json_text(v), hi);
  }
  const int64_t x = v.get<int64_t>();
  if (x < lo) fail("{}: field '{}': expected {}, got {}", where_, key, expected, x);
  if (x > hi)
    fail("{}: field '{}': expected {}, got {} (larger than {})", where_, key, expected, x, hi);
  return x;
}

std::optional<int64_t> JsonFields::opt_int(std::string_view key, int64_t lo, int64_t hi) const {
  const json* v = find(key);
  if (!v) return std::nullopt;
  return as_int(key, *v, lo, hi);
}

int64_t JsonFields::get_int(std::string_view key, int64_t lo, int64_t hi) const {
  const auto v = opt_int(key, lo, hi);
  if (!v) missing(key, int_expected(lo, hi));
  return *v;
}

std::optional<double> JsonFields::opt_number(std::string_view key) const {
  const json* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_number()) wrong(key, "a number", *v);
  const double x = v->get<double>();
  if (!std::isfinite(x)) wrong(key, "a finite number", *v);
  return x;
}

double JsonFields::get_number(std::string_view key) const {
  const auto v = opt_number(key);
  if (!v) missing(key, "a number");
  return *v;
}

std::optional<bool> JsonFields::opt_bool(std::string_view key) const {
  const json* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) wrong(key, "true or false", *v);
  return v->get<bool>();
}

bool JsonFields::get_bool(std::string_view key) const {
  const auto v = opt_bool(key);
  if (!v) missing(key, "true or false");
  return *v;
}

std::optional<std::string> JsonFields::opt_string(std::string_view key) const {
  const json* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_string()) wrong(key, "a string", *v);
  return v->get<std::string>();
}

std::string JsonFields::get_string(std::string_view key) const {
  auto v = opt_string(key);
  if (!v) missing(key, "a string");
  return std::move(*v);
}

}  // namespace tandem
