// How a checkpoint's chat template writes tool calls, found by rendering a probe conversation whose assistant turn
// holds one call (the template's source is not needed): DeepSeek-V3/R1's <｜tool▁calls▁begin｜> markup, Qwen2.5's
// <tool_call> JSON (R1-Distill-Qwen keeps DeepSeek's), or Llama-3.1's bare {"name": ..., "parameters": ...} JSON.
#pragma once

#include <nlohmann/json.hpp>

#include "tokenizer/chat_template.h"

namespace whale::server::tools {

enum class ToolFormat { kNone, kDeepSeek, kQwen, kLlama };

const char* tool_format_name(ToolFormat format);

// kNone when the template renders no recognisable call (or rejects the probe).
ToolFormat detect_tool_format(const ChatTemplate& chat_template);

// The messages as the template of `format` expects them: OpenAI sends function.arguments as a JSON string, which
// DeepSeek's template concatenates as is, while Qwen's and Llama's apply `| tojson` to an object (as with HF
// apply_chat_template), so for those the string is parsed back into the object it spells.
nlohmann::json messages_for_template(ToolFormat format, nlohmann::json messages);

}  // namespace whale::server::tools
