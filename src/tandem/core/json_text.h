#pragma once
// JSON text in and out, compiled in one place. nlohmann's parser and serializer are templates
// instantiated in every translation unit that calls json::parse or dump() directly, ~4 s of
// compile time each (docs/performance.md, "Building the demo's binary"); every layer calls these.
// Messages a user can act on ("file: line L, column C: ...") come from io/json_file.h on top.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace tandem {

// Parses `text` as nlohmann's json::parse does: a syntax error throws json::parse_error (and a
// number beyond double json::out_of_range), or, with allow_exceptions false, returns a discarded
// value (is_discarded()). `callback` sees each parse event, as nlohmann's parser callback does.
nlohmann::json parse_json_text(std::string_view text, bool allow_exceptions = true,
                               const nlohmann::json::parser_callback_t& callback = nullptr);

// What bytes that are not UTF-8 in a string become when it is written: an error
// (json::type_error 316), or U+FFFD.
enum class InvalidUtf8 { kThrow, kReplace };

// One line (indent < 0) or pretty-printed with `indent` spaces; non-ASCII is written as UTF-8.
std::string json_text(const nlohmann::json& j, int indent = -1,
                      InvalidUtf8 invalid = InvalidUtf8::kThrow);
std::string json_text(const nlohmann::ordered_json& j, int indent = -1,
                      InvalidUtf8 invalid = InvalidUtf8::kThrow);

}  // namespace tandem
