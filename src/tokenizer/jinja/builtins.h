// Global functions of transformers' chat-template environment: range, namespace, dict,
// raise_exception, strftime_now.
#pragma once

#include "tokenizer/jinja/limits.h"
#include "tokenizer/jinja/value.h"

namespace whale::jinja {

Dict global_functions(const Limits& limits);  // range() and str() within `limits`

}  // namespace whale::jinja
