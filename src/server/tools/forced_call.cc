#include "server/tools/forced_call.h"

namespace whale::server::tools {

ForcedCall forced_call_text(ToolFormat format, const std::string& name) {
  switch (format) {
    case ToolFormat::kDeepSeek:
      return {"<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>" + name + "\n```json\n",
              "\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>"};
    case ToolFormat::kQwen:
      return {"<tool_call>\n{\"name\": \"" + name + "\", \"arguments\": ", "}\n</tool_call>"};
    case ToolFormat::kLlama:
      return {"{\"name\": \"" + name + "\", \"parameters\": ", "}"};
    case ToolFormat::kNone:
      break;
  }
  return {};
}

}  // namespace whale::server::tools
