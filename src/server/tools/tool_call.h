// A function call the model made, as OpenAI returns it: message.tool_calls[i] (non-streaming) or one
// delta.tool_calls entry (streaming; whale sends each call whole, in one delta, once its text is complete).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace whale::server::tools {

struct ToolCall {
  int64_t index = 0;      // position among the choice's calls
  std::string id;         // "call_" + random; set by whoever emits the call
  std::string name;       // function.name
  std::string arguments;  // function.arguments: a JSON object's text
};

// "call_" followed by 24 random letters and digits.
std::string new_tool_call_id();

// {"id", "type": "function", "function": {"name", "arguments"}}; the streaming form also carries "index".
nlohmann::json tool_call_json(const ToolCall& call, bool with_index);
nlohmann::json tool_calls_json(const std::vector<ToolCall>& calls, bool with_index);

}  // namespace whale::server::tools
