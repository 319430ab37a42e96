// Jinja filters (`x | name(args)`) and tests (`x is name(args)`) used by hub chat templates.
#pragma once

#include <string>

#include "tokenizer/jinja/value.h"

namespace whale::jinja {

// Throw whale::Error "unsupported filter 'name'" / "unsupported test 'name'" for unknown names.
Value apply_filter(const std::string& name, const Value& v, const CallArgs& args);
bool apply_test(const std::string& name, const Value& v, const CallArgs& args);

}  // namespace whale::jinja
