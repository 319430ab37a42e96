#include "rl/eval.h"

#include <array>
#include <map>

#include "core/error.h"

namespace whale::rl {

std::optional<size_t> majority_vote(std::span<const Verification> samples) {
  std::map<std::string, std::pair<int64_t, size_t>> votes;  // key → (count, first index)
  for (size_t i = 0; i < samples.size(); ++i)
    if (samples[i].key) {
      auto [it, inserted] = votes.try_emplace(*samples[i].key, 0, i);
      ++it->second.first;
    }
  std::optional<size_t> best;
  int64_t best_count = 0;
  for (const auto& [key, vote] : votes)
    if (vote.first > best_count || (vote.first == best_count && vote.second < *best)) {
      best_count = vote.first;
      best = vote.second;
    }
  return best;
}

bool has_reflection(std::string_view text) {
  static constexpr std::array<std::string_view, 7> kWords = {"wait",   "check",        "verify", "recheck",
                                                             "re-check", "double-check", "verifying"};
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
  auto is_word_char = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-'; };
  // Split into maximal runs of letters and hyphens, compare each run case-insensitively.
  for (size_t i = 0; i < text.size();) {
    if (!is_word_char(text[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    std::string word;
    while (j < text.size() && is_word_char(text[j])) word += lower(text[j++]);
    for (std::string_view w : kWords)
      if (word == w) return true;
    i = j;
  }
  return false;
}

EvalMetrics evaluate(const Task& task, std::span<const Problem> problems,
                     const std::vector<std::vector<std::string>>& responses) {
  if (responses.size() != problems.size())
    fail("evaluate: {} problems but {} response lists", problems.size(), responses.size());
  EvalMetrics m;
  m.n_problems = int64_t(problems.size());
  double total_chars = 0;
  for (size_t i = 0; i < problems.size(); ++i) {
    if (responses[i].empty()) fail("evaluate: problem {} has no samples", i);
    std::vector<Verification> verdicts;
    int64_t correct = 0;
    for (const std::string& response : responses[i]) {
      const Reward r = score_response(task, problems[i], response);
      correct += r.verification.verdict == Verdict::kCorrect;
      m.format_rate += r.format;
      m.reflection_rate += has_reflection(response);
      total_chars += double(response.size());
      verdicts.push_back(r.verification);
    }
    m.n_samples += int64_t(responses[i].size());
    m.pass_at_1 += double(correct) / double(responses[i].size());
    m.pass_at_k += correct > 0;
    const std::optional<size_t> major = majority_vote(verdicts);
    m.cons_at_k += major && verdicts[*major].verdict == Verdict::kCorrect;
  }
  if (m.n_problems > 0) {
    m.pass_at_1 /= double(m.n_problems);
    m.pass_at_k /= double(m.n_problems);
    m.cons_at_k /= double(m.n_problems);
  }
  if (m.n_samples > 0) {
    m.format_rate /= double(m.n_samples);
    m.reflection_rate /= double(m.n_samples);
    m.mean_chars = total_chars / double(m.n_samples);
  }
  return m;
}

}  // namespace whale::rl
