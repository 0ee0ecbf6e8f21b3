#include "tandem/serve/api_error.h"

namespace tandem::serve {

namespace {
std::string type_of(int status) {
  switch (status) {
    case 401: return "authentication_error";
    case 404: return "not_found_error";
    case 429: return "rate_limit_error";
    case 500: return "server_error";
    case 503: return "server_unavailable";
    default: return "invalid_request_error";
  }
}
}  // namespace

ApiError::ApiError(int status, const std::string& message, std::string param, std::string code)
    : Error(message), status_(status), type_(type_of(status)), param_(std::move(param)),
      code_(std::move(code)) {}

nlohmann::json ApiError::body() const {
  using nlohmann::json;
  return {{"error",
           {{"message", what()},
            {"type", type_},
            {"param", param_.empty() ? json(nullptr) : json(param_)},
            {"code", code_.empty() ? json(nullptr) : json(code_)}}}};
}

void bad_request(const std::string& param, const std::string& message, const std::string& code) {
  throw ApiError(400, message, param, code);
}

}  // namespace tandem::serve
