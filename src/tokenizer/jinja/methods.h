// Python methods callable on values: str.strip/lstrip/rstrip/split/startswith/endswith/replace/upper/
// lower/title/capitalize/find/join, dict.items/get/keys/values.
#pragma once

#include <optional>
#include <string>

#include "tokenizer/jinja/limits.h"
#include "tokenizer/jinja/value.h"

namespace whale::jinja {

// nullopt when `obj` has no method `name`. Results beyond `limits` are a whale::Error.
std::optional<Value> call_method(const Value& obj, const std::string& name, const CallArgs& args,
                                 const Limits& limits);

}  // namespace whale::jinja
