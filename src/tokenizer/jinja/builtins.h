// Global functions of transformers' chat-template environment: range, namespace, dict,
// raise_exception, strftime_now.
#pragma once

#include "tokenizer/jinja/value.h"

namespace whale::jinja {

Dict global_functions();

}  // namespace whale::jinja
