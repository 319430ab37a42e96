// An error that becomes an HTTP response in OpenAI's shape:
// {"error": {"message": ..., "type": ..., "param": ... | null, "code": ... | null}}.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "core/error.h"

namespace whale::server {

class HttpError : public Error {
 public:
  HttpError(int status, std::string message, std::string param = {}, std::string code = {},
            std::string type = "invalid_request_error")
      : Error(std::move(message)), status_(status), param_(std::move(param)), code_(std::move(code)),
        type_(std::move(type)) {}

  int status() const { return status_; }
  const std::string& param() const { return param_; }
  const std::string& code() const { return code_; }
  const std::string& type() const { return type_; }

 private:
  int status_;
  std::string param_, code_, type_;
};

// The OpenAI error body; empty param/code become null.
inline nlohmann::json error_json(const std::string& message, const std::string& type, const std::string& param,
                                 const std::string& code) {
  auto or_null = [](const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); };
  return {{"error", {{"message", message}, {"type", type}, {"param", or_null(param)}, {"code", or_null(code)}}}};
}

inline nlohmann::json error_json(const HttpError& e) { return error_json(e.what(), e.type(), e.param(), e.code()); }

}  // namespace whale::server
