#include "distill/trace_filter.h"

#include <string>
#include <unordered_map>
#include <vector>

#include "rl/reward.h"

namespace whale::distill {

const char* trace_verdict_name(TraceVerdict v) {
  switch (v) {
    case TraceVerdict::kKept:
      return "kept";
    case TraceVerdict::kTruncated:
      return "truncated";
    case TraceVerdict::kTooLong:
      return "too_long";
    case TraceVerdict::kRepetitive:
      return "repetitive";
    case TraceVerdict::kUnclosedReasoning:
      return "unclosed_reasoning";
    case TraceVerdict::kNoFormat:
      return "no_format";
    case TraceVerdict::kWrong:
      return "wrong";
  }
  return "?";
}

bool is_repetitive(std::string_view text, int64_t repeat_words, int64_t repeat_times) {
  std::vector<std::string_view> words;
  for (size_t i = 0; i < text.size();) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t' || text[i] == '\r')) ++i;
    const size_t b = i;
    while (i < text.size() && !(text[i] == ' ' || text[i] == '\n' || text[i] == '\t' || text[i] == '\r')) ++i;
    if (i > b) words.push_back(text.substr(b, i - b));
  }
  if (repeat_words < 1 || int64_t(words.size()) < repeat_words * repeat_times) return false;
  std::unordered_map<std::string, int64_t> count;  // each window of repeat_words words, joined by spaces
  for (size_t i = 0; i + size_t(repeat_words) <= words.size(); ++i) {
    std::string window(words[i]);
    for (size_t k = 1; k < size_t(repeat_words); ++k) (window += ' ') += words[i + k];
    if (++count[window] >= repeat_times) return true;
  }
  return false;
}

TraceVerdict judge_trace(const rl::Task* task, const rl::Problem* problem, std::string_view response, bool truncated,
                         const TraceFilterOptions& options) {
  if (truncated) return TraceVerdict::kTruncated;
  if (int64_t(response.size()) > options.max_chars) return TraceVerdict::kTooLong;
  if (is_repetitive(response, options.repeat_words, options.repeat_times)) return TraceVerdict::kRepetitive;
  const size_t open = response.find("<think>");
  if (open != std::string_view::npos && response.find("</think>", open) == std::string_view::npos)
    return TraceVerdict::kUnclosedReasoning;
  if (!task) return TraceVerdict::kKept;
  const rl::Reward r = rl::score_response(*task, *problem, response);
  if (r.format < 1) return TraceVerdict::kNoFormat;
  if (r.verification.verdict != rl::Verdict::kCorrect) return TraceVerdict::kWrong;
  return TraceVerdict::kKept;
}

}  // namespace whale::distill
