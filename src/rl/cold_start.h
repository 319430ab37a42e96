// Cold-start SFT data (as R1 does before RL): problems with short worked solutions in the reasoning format,
// so a small model learns to write <think> steps </think> <answer> answer </answer> before GRPO.
// Output is JSON lines, either chat messages for a chat template or plain R1-Zero prompt + completion.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "rl/reward.h"
#include "rl/tasks/task.h"

namespace whale::rl {

enum class ColdStartFormat {
  kChat,  // {"messages": [system?, user, assistant]}
  kText,  // {"prompt": r1_zero_prompt, "completion": ..., "text": prompt + completion}
};
ColdStartFormat parse_cold_start_format(const std::string& name);  // "chat" | "text"

struct ColdStartOptions {
  std::string task = "arithmetic";  // a family name, or "all" to cycle through every family
  int64_t n = 1000;
  uint64_t seed = 0;
  int min_difficulty = 1;
  int max_difficulty = 0;  // 0: each family's maximum
  Split split = Split::kTrain;
  ColdStartFormat format = ColdStartFormat::kChat;
  Instruction instruction = Instruction::kUser;  // chat: where the answer-format instruction goes
  PromptOptions prompt;         // text: prefill "<think>" at the end of the prompt
};

// "<think>\nsteps\n</think>\n<answer>answer</answer>": the assistant's reply to the problem.
std::string worked_response(const Task& task, const Problem& problem);

// One JSONL record for the problem in the requested format.
nlohmann::json cold_start_record(const Task& task, const Problem& problem, const ColdStartOptions& options);

// Writes options.n records (one per line); difficulties are drawn uniformly from the range. Same options →
// same bytes. Throws whale::Error on bad options.
void write_cold_start(const ColdStartOptions& options, std::ostream& out);

}  // namespace whale::rl
