#include "rl/prompt_style.h"

#include "core/error.h"

namespace whale::rl {

PromptStyle parse_prompt_style(const std::string& text, const std::string& what) {
  if (text == "r1-zero") return PromptStyle::kR1Zero;
  if (text == "chat") return PromptStyle::kChat;
  fail("{}: unknown prompt style '{}' (expected \"r1-zero\" or \"chat\")", what, text);
}

Instruction parse_instruction(const std::string& text, const std::string& what) {
  if (text == "user") return Instruction::kUser;
  if (text == "system") return Instruction::kSystem;
  if (text == "none") return Instruction::kNone;
  fail("{}: unknown instruction placement '{}' (expected \"user\", \"system\" or \"none\")", what, text);
}

}  // namespace whale::rl
