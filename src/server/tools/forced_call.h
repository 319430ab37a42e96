// The text a template's format writes around one call's arguments, for a forced call (tool_choice naming a
// function): decoding writes the prefix, then a JSON document of the function's parameters schema, then the suffix
// (grammar/grammar_constraint.h), and tool_call_parser.h reads the result back as that call.
#pragma once

#include <string>

#include "server/tools/tool_format.h"

namespace whale::server::tools {

struct ForcedCall {
  std::string prefix, suffix;
};

// `name`: a valid function name (tool_request.h). kNone has no markup: empty texts.
ForcedCall forced_call_text(ToolFormat format, const std::string& name);

}  // namespace whale::server::tools
