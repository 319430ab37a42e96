// How RL prompts are written (the [task] prompt keys of a GRPO config).
#pragma once

#include <string>

namespace whale::rl {

enum class PromptStyle {
  kR1Zero,  // BOS + "<instruction> User: <question> Assistant:" (+ " <think>" with prefill_think)
  kChat,    // the tokenizer's chat template over chat_messages(problem)
};
PromptStyle parse_prompt_style(const std::string& text, const std::string& what);  // "r1-zero" | "chat"

// Where a chat prompt tells the model the answer format.
enum class Instruction {
  kUser,    // after the question, in the user turn
  kSystem,  // as a system message
  kNone,    // nowhere: the question alone, as a user types it (the model must know the format itself)
};
Instruction parse_instruction(const std::string& text, const std::string& what);  // "user" | "system" | "none"

struct PromptConfig {
  PromptStyle style = PromptStyle::kR1Zero;
  bool prefill_think = true;    // r1-zero: end the prompt with "<think>"
  Instruction instruction = Instruction::kUser;  // chat only
};

}  // namespace whale::rl
