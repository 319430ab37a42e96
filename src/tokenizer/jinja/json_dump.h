// Python json.dumps of interpreter values, as transformers' `tojson` filter calls it.
#pragma once

#include <optional>
#include <string>

#include "tokenizer/jinja/value.h"

namespace whale::jinja {

struct JsonStyle {
  std::optional<std::string> indent;  // unset: one line; else the per-level indent string
  std::string item_separator = ", ";  // Python's default; "," when indent is set
  std::string key_separator = ": ";
  bool sort_keys = false;
  bool ensure_ascii = false;
  size_t max_bytes = 0;  // a longer result is a whale::Error
};

std::string json_dumps(const Value& v, const JsonStyle& style);

}  // namespace whale::jinja
