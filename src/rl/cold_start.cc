#include "rl/cold_start.h"

#include <algorithm>
#include <memory>
#include <random>
#include <vector>

#include "core/error.h"

namespace whale::rl {

ColdStartFormat parse_cold_start_format(const std::string& name) {
  if (name == "chat") return ColdStartFormat::kChat;
  if (name == "text") return ColdStartFormat::kText;
  fail("unknown cold-start format '{}' (expected chat or text)", name);
}

std::string worked_response(const Task& task, const Problem& problem) {
  const Task::Solution s = task.solve(problem);
  return "<think>\n" + s.thinking + "\n</think>\n<answer>" + s.answer + "</answer>";
}

nlohmann::json cold_start_record(const Task& task, const Problem& problem, const ColdStartOptions& options) {
  const std::string response = worked_response(task, problem);
  if (options.format == ColdStartFormat::kChat) {
    nlohmann::json messages = chat_messages(problem, options.instruction);
    messages.push_back({{"role", "assistant"}, {"content", response}});
    return {{"messages", messages}};
  }
  const std::string prompt = r1_zero_prompt(problem, options.prompt);
  // The completion continues the prompt: after a prefilled "<think>" it starts inside the reasoning.
  const std::string completion =
      options.prompt.prefill_think ? response.substr(std::string_view("<think>").size()) : " " + response;
  return {{"prompt", prompt}, {"completion", completion}, {"text", prompt + completion}};
}

void write_cold_start(const ColdStartOptions& options, std::ostream& out) {
  if (options.n < 0) fail("cold-start: --n must be >= 0 (got {})", options.n);
  if (options.min_difficulty < 1) fail("cold-start: min difficulty must be >= 1 (got {})", options.min_difficulty);
  if (options.max_difficulty != 0 && options.max_difficulty < options.min_difficulty)
    fail("cold-start: max difficulty {} is below min difficulty {}", options.max_difficulty, options.min_difficulty);
  std::vector<std::unique_ptr<Task>> tasks;
  if (options.task == "all") {
    for (const std::string& name : task_names()) tasks.push_back(make_task(name));
  } else {
    tasks.push_back(make_task(options.task));
  }
  std::mt19937_64 rng(options.seed);
  for (int64_t i = 0; i < options.n; ++i) {
    const Task& task = *tasks[size_t(i) % tasks.size()];
    const Problem problem = task.draw(options.split, options.min_difficulty, options.max_difficulty, rng);
    out << cold_start_record(task, problem, options).dump(-1, ' ', false, nlohmann::json::error_handler_t::strict)
        << '\n';
  }
  if (!out) fail("cold-start: write failed");
}

}  // namespace whale::rl
