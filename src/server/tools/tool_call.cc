#include "server/tools/tool_call.h"

#include <random>

namespace whale::server::tools {

std::string new_tool_call_id() {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<size_t> pick(0, sizeof(kAlphabet) - 2);
  std::string id = "call_";
  for (int i = 0; i < 24; ++i) id += kAlphabet[pick(rng)];
  return id;
}

nlohmann::json tool_call_json(const ToolCall& call, bool with_index) {
  nlohmann::json j = {
      {"id", call.id}, {"type", "function"}, {"function", {{"name", call.name}, {"arguments", call.arguments}}}};
  if (with_index) j["index"] = call.index;
  return j;
}

nlohmann::json tool_calls_json(const std::vector<ToolCall>& calls, bool with_index) {
  nlohmann::json out = nlohmann::json::array();
  for (const ToolCall& c : calls) out.push_back(tool_call_json(c, with_index));
  return out;
}

}  // namespace whale::server::tools
