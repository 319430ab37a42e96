// Jinja filters (`x | name(args)`) and tests (`x is name(args)`) used by hub chat templates.
#pragma once

#include <string>

#include "tokenizer/jinja/limits.h"
#include "tokenizer/jinja/value.h"

namespace whale::jinja {

// Throw whale::Error "unsupported filter 'name'" / "unsupported test 'name'" for unknown names; results beyond
// `limits` (a string over max_output_bytes, a list over max_items) too.
Value apply_filter(const std::string& name, const Value& v, const CallArgs& args, const Limits& limits);
bool apply_test(const std::string& name, const Value& v, const CallArgs& args);

}  // namespace whale::jinja
