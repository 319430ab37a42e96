#include "rl/prompt_style.h"

#include "core/error.h"

namespace whale::rl {

PromptStyle parse_prompt_style(const std::string& text, const std::string& what) {
  if (text == "r1-zero") return PromptStyle::kR1Zero;
  if (text == "chat") return PromptStyle::kChat;
  fail("{}: unknown prompt style '{}' (expected \"r1-zero\" or \"chat\")", what, text);
}

}  // namespace whale::rl
