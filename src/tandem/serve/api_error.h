#pragma once
// An error the HTTP API answers, in OpenAI's shape:
//   {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
// with its status: 400 for a bad request (never 500 for something the client sent), 401, 404,
// 413, 429 and 503 with Retry-After.
#include <nlohmann/json.hpp>
#include <string>

#include "tandem/core/error.h"

namespace tandem::serve {

class ApiError : public Error {
 public:
  // type defaults from the status: invalid_request_error, authentication_error, ...
  ApiError(int status, const std::string& message, std::string param = "", std::string code = "");

  int status() const { return status_; }
  const std::string& type() const { return type_; }
  const std::string& param() const { return param_; }
  const std::string& code() const { return code_; }
  nlohmann::json body() const;

 private:
  int status_;
  std::string type_, param_, code_;
};

// Shorthand for the common case: 400 about one field.
[[noreturn]] void bad_request(const std::string& param, const std::string& message,
                              const std::string& code = "invalid_value");

}  // namespace tandem::serve
