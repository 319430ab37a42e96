// The function-calling fields of a chat request: tools, tool_choice, parallel_tool_calls. server/request.cc reads
// them with the tool_calls and tool results of the history (request parsing stays one translation unit, which the
// request fuzzer links alone); each rejection is a 400 naming the field, and a parameters schema the grammar cannot
// represent, when the call is forced, is a 400 naming the keyword.
#pragma once

#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "grammar/json_grammar.h"

namespace whale::server::tools {

struct ForcedTool {
  std::string name;
  std::shared_ptr<const grammar::JsonGrammar> arguments;
};

struct ToolRequest {
  enum class Choice { kAuto, kNone, kRequired, kNamed };
  nlohmann::json tools = nlohmann::json::array();  // as sent: the chat template's "tools"; empty: none
  Choice choice = Choice::kAuto;
  std::string named;     // kNamed: the function's name
  bool parallel = true;  // parallel_tool_calls: false keeps at most one call per choice
  // kNamed: that function; kRequired: every tool. The answer is one call of one of them (forced_call_constraint.h),
  // its arguments constrained to the function's parameters schema (any object when it has none).
  std::vector<ForcedTool> forced;
  // Whether the output is parsed for calls.
  bool parse_calls() const { return !tools.empty() && choice != Choice::kNone; }
};

}  // namespace whale::server::tools
