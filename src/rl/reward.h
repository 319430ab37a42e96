// Prompts in the R1-Zero format and rule-based rewards: the model reasons inside <think>…</think> and puts
// the final answer inside <answer>…</answer>; the reward checks the last answer block with the task's
// exact verifier (accuracy) and the overall shape of the response (format).
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "rl/prompt_style.h"
#include "rl/tasks/task.h"

namespace whale::rl {

// The instruction of the R1-Zero template (our wording), shared by the plain and chat prompts.
extern const char* const kReasoningInstruction;

struct PromptOptions {
  // End the prompt with "<think>" so the completion starts inside the reasoning (as TinyZero does);
  // then score full_response(options, completion).
  bool prefill_think = false;
};

// "<instruction> User: <question> Assistant:" (+ " <think>").
std::string r1_zero_prompt(const Problem& problem, const PromptOptions& options = {});
// Chat messages for the R1 chat template: [system: instruction, user: question], or, without a system
// message (as DeepSeek recommends for R1), [user: question + instruction].
nlohmann::json chat_messages(const Problem& problem, Instruction instruction);
// The text the rewards look at: the prefilled "<think>" (if any) followed by the completion.
std::string full_response(const PromptOptions& options, std::string_view completion);

// Content of the last complete <answer>…</answer> block: the last "<answer>" that a "</answer>" follows,
// up to the first "</answer>" after it. nullopt when there is none.
std::optional<std::string_view> extract_answer(std::string_view response);

// 1 when the response is exactly: optional whitespace, <think> non-empty reasoning </think>, optional
// whitespace, <answer> non-empty answer </answer>, optional whitespace, with each tag appearing once.
double format_reward(std::string_view response);

struct RewardConfig {
  double format_weight = 0.1;  // total = accuracy + format_weight · format
};

struct Reward {
  double accuracy = 0;  // 1 correct; wrong: task.wrong_answer_credit() (Countdown 0.1); no answer: 0
  double format = 0;
  double total = 0;
  Verification verification;  // of the extracted answer (kNoAnswer when there is no answer block)
};

Reward score_response(const Task& task, const Problem& problem, std::string_view response,
                      const RewardConfig& config = {});

}  // namespace whale::rl
