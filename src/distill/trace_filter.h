// Which teacher traces a student may learn from (R1's rejection sampling): a trace is kept when it is
// finished (not cut at the token budget), not too long, not degenerate (a loop repeating itself), has its
// reasoning closed, and — for a task with a verifier — is well-formed and correct.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "rl/tasks/task.h"

namespace whale::distill {

enum class TraceVerdict { kKept, kTruncated, kTooLong, kRepetitive, kUnclosedReasoning, kNoFormat, kWrong };
const char* trace_verdict_name(TraceVerdict v);

struct TraceFilterOptions {
  int64_t max_chars = 16384;  // longer responses are dropped (R1 drops overlong traces)
  // Degenerate repetition: some run of `repeat_words` words occurs `repeat_times` times or more.
  int64_t repeat_words = 12;
  int64_t repeat_times = 3;
};

// A response that loops: the same run of repeat_words consecutive words appears repeat_times times.
bool is_repetitive(std::string_view text, int64_t repeat_words, int64_t repeat_times);

// task/problem: null for free prompts (no verifier): then only the length, repetition and closed-reasoning
// rules apply. `response` is the full response (reasoning opening included).
TraceVerdict judge_trace(const rl::Task* task, const rl::Problem* problem, std::string_view response, bool truncated,
                         const TraceFilterOptions& options);

}  // namespace whale::distill
