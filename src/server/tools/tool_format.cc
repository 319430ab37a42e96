#include "server/tools/tool_format.h"

#include <string>

#include "core/error.h"

namespace whale::server::tools {

const char* tool_format_name(ToolFormat format) {
  switch (format) {
    case ToolFormat::kDeepSeek:
      return "deepseek";
    case ToolFormat::kQwen:
      return "qwen";
    case ToolFormat::kLlama:
      return "llama3.1";
    case ToolFormat::kNone:
      break;
  }
  return "none";
}

ToolFormat detect_tool_format(const ChatTemplate& chat_template) {
  const nlohmann::json probe = nlohmann::json::parse(R"([
    {"role": "user", "content": "probe"},
    {"role": "assistant", "content": null, "tool_calls": [{"id": "call_probe", "type": "function",
      "function": {"name": "probe_function", "arguments": "{\"probe\": 1}"}}]}])");
  std::string text;
  try {
    text = chat_template.render(probe, /*add_generation_prompt=*/false);
  } catch (const Error&) {
    return ToolFormat::kNone;
  }
  if (text.find("probe_function") == std::string::npos) return ToolFormat::kNone;
  if (text.find("<｜tool▁calls▁begin｜>") != std::string::npos) return ToolFormat::kDeepSeek;
  if (text.find("<tool_call>") != std::string::npos) return ToolFormat::kQwen;
  if (text.find("\"parameters\"") != std::string::npos) return ToolFormat::kLlama;
  return ToolFormat::kNone;
}

nlohmann::json messages_for_template(ToolFormat format, nlohmann::json messages) {
  if (format != ToolFormat::kQwen && format != ToolFormat::kLlama) return messages;
  for (nlohmann::json& m : messages) {
    if (!m.contains("tool_calls")) continue;
    for (nlohmann::json& call : m["tool_calls"]) {
      nlohmann::json& args = call["function"]["arguments"];
      if (!args.is_string()) continue;
      nlohmann::json parsed = nlohmann::json::parse(args.get<std::string>(), nullptr, /*allow_exceptions=*/false);
      if (!parsed.is_discarded()) args = std::move(parsed);
    }
  }
  return messages;
}

}  // namespace whale::server::tools
