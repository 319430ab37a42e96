// How RL prompts are written (the [task] prompt keys of a GRPO config).
#pragma once

#include <string>

namespace whale::rl {

enum class PromptStyle {
  kR1Zero,  // BOS + "<instruction> User: <question> Assistant:" (+ " <think>" with prefill_think)
  kChat,    // the tokenizer's chat template over chat_messages(problem)
};
PromptStyle parse_prompt_style(const std::string& text, const std::string& what);  // "r1-zero" | "chat"

struct PromptConfig {
  PromptStyle style = PromptStyle::kR1Zero;
  bool prefill_think = true;    // r1-zero: end the prompt with "<think>"
  bool system_message = false;  // chat: the instruction as a system message
};

}  // namespace whale::rl
