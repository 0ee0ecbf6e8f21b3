#include "tandem/core/json_text.h"

namespace tandem {

nlohmann::json parse_json_text(std::string_view text, bool allow_exceptions,
                               const nlohmann::json::parser_callback_t& callback) {
  // One input type (a pair of const char*) for every caller: one parser instantiation.
  const char* begin = text.data();
  return nlohmann::json::parse(begin, begin + text.size(), callback, allow_exceptions);
}

namespace {

template <typename Json>
std::string json_text_of(const Json& j, int indent, InvalidUtf8 invalid) {
  return j.dump(indent, ' ', /*ensure_ascii=*/false,
                invalid == InvalidUtf8::kReplace ? Json::error_handler_t::replace
                                                 : Json::error_handler_t::strict);
}

}  // namespace

std::string json_text(const nlohmann::json& j, int indent, InvalidUtf8 invalid) {
  return json_text_of(j, indent, invalid);
}

std::string json_text(const nlohmann::ordered_json& j, int indent, InvalidUtf8 invalid) {
  return json_text_of(j, indent, invalid);
}

}  // namespace tandem
