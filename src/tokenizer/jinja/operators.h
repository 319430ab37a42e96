// Python semantics of the binary operators, `in`, subscripts and slices on interpreter values.
#pragma once

#include <string>

#include "tokenizer/jinja/value.h"

namespace whale::jinja {

// op: + - * / // % ** ~. Strings/lists built by + * ~ larger than max_bytes are refused.
Value binary_op(const std::string& op, const Value& a, const Value& b, size_t max_bytes);
Value negate(const Value& v);
bool contains(const Value& container, const Value& item);  // `item in container`
// obj.name / obj[key] as Jinja resolves them: a missing key or index gives Undefined.
Value get_attr(const Value& obj, const std::string& name);
Value get_item(const Value& obj, const Value& key);
// obj[start:stop:step] on a list or string; unset parts are Undefined or None.
Value slice(const Value& obj, const Value& start, const Value& stop, const Value& step);

}  // namespace whale::jinja
