#include "rl/reward.h"

#include <fmt/format.h>

#include "rl/tasks/number.h"

namespace whale::rl {

const char* const kReasoningInstruction =
    "A conversation between User and Assistant. The User asks a question and the Assistant solves it. The "
    "Assistant first thinks step by step inside <think> </think> tags, then gives only the final answer inside "
    "<answer> </answer> tags, i.e. <think> reasoning here </think> <answer> answer here </answer>.";

std::string r1_zero_prompt(const Problem& problem, const PromptOptions& options) {
  return fmt::format("{} User: {} Assistant:{}", kReasoningInstruction, problem.prompt,
                     options.prefill_think ? " <think>" : "");
}

nlohmann::json chat_messages(const Problem& problem, Instruction instruction) {
  if (instruction == Instruction::kSystem)
    return nlohmann::json::array({{{"role", "system"}, {"content", kReasoningInstruction}},
                                  {{"role", "user"}, {"content", problem.prompt}}});
  if (instruction == Instruction::kNone)
    return nlohmann::json::array({{{"role", "user"}, {"content", problem.prompt}}});
  return nlohmann::json::array(
      {{{"role", "user"},
        {"content", problem.prompt +
                        " Think step by step inside <think> </think> tags, then give only the final answer "
                        "inside <answer> </answer> tags."}}});
}

std::string full_response(const PromptOptions& options, std::string_view completion) {
  return (options.prefill_think ? "<think>" : "") + std::string(completion);
}

namespace {
constexpr std::string_view kThinkOpen = "<think>", kThinkClose = "</think>";
constexpr std::string_view kAnswerOpen = "<answer>", kAnswerClose = "</answer>";

size_t count(std::string_view text, std::string_view tag) {
  size_t n = 0;
  for (size_t at = text.find(tag); at != std::string_view::npos; at = text.find(tag, at + tag.size())) ++n;
  return n;
}
}  // namespace

std::optional<std::string_view> extract_answer(std::string_view response) {
  const size_t close = response.rfind(kAnswerClose);
  if (close == std::string_view::npos) return std::nullopt;
  const size_t open = response.rfind(kAnswerOpen, close);
  if (open == std::string_view::npos) return std::nullopt;
  const size_t begin = open + kAnswerOpen.size();
  const size_t end = response.find(kAnswerClose, begin);  // nested "<answer>x</answer></answer>": x
  return response.substr(begin, end - begin);
}

double format_reward(std::string_view response) {
  for (std::string_view tag : {kThinkOpen, kThinkClose, kAnswerOpen, kAnswerClose})
    if (count(response, tag) != 1) return 0.0;
  response = trim_ascii(response);
  if (!response.starts_with(kThinkOpen) || !response.ends_with(kAnswerClose)) return 0.0;
  const size_t think_close = response.find(kThinkClose), answer_open = response.find(kAnswerOpen);
  if (answer_open < think_close) return 0.0;
  const std::string_view thinking = response.substr(kThinkOpen.size(), think_close - kThinkOpen.size());
  const std::string_view between =
      response.substr(think_close + kThinkClose.size(), answer_open - think_close - kThinkClose.size());
  const std::string_view answer = response.substr(
      answer_open + kAnswerOpen.size(), response.size() - kAnswerClose.size() - answer_open - kAnswerOpen.size());
  const bool ok = !trim_ascii(thinking).empty() && trim_ascii(between).empty() && !trim_ascii(answer).empty();
  return ok ? 1.0 : 0.0;
}

Reward score_response(const Task& task, const Problem& problem, std::string_view response,
                      const RewardConfig& config) {
  Reward r;
  const std::optional<std::string_view> answer = extract_answer(response);
  if (!answer) {
    r.verification = {Verdict::kNoAnswer, "no <answer>...</answer> block", std::nullopt};
  } else if (trim_ascii(*answer).empty()) {
    r.verification = {Verdict::kNoAnswer, "empty answer", std::nullopt};
  } else {
    r.verification = task.verify(problem, *answer);
  }
  switch (r.verification.verdict) {
    case Verdict::kCorrect: r.accuracy = 1.0; break;
    case Verdict::kWrong: r.accuracy = task.wrong_answer_credit(); break;
    case Verdict::kNoAnswer: r.accuracy = 0.0; break;
  }
  r.format = format_reward(response);
  r.total = r.accuracy + config.format_weight * r.format;
  return r;
}

}  // namespace whale::rl
