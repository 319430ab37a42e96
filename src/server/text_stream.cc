#include "server/text_stream.h"

#include <algorithm>

namespace whale::server {
namespace {

constexpr std::string_view kThinkOpen = "<think>";
constexpr std::string_view kThinkClose = "</think>";
constexpr std::string_view kSpace = " \t\r\n";

}  // namespace

bool ends_inside_think(std::string_view prompt) {
  const size_t end = prompt.find_last_not_of(" \t\r\n");
  return end != std::string_view::npos && prompt.substr(0, end + 1).ends_with("<think>");
}

size_t partial_suffix(std::string_view text, std::string_view tag) {
  for (size_t n = std::min(text.size(), tag.size() - 1); n > 0; --n)
    if (text.substr(text.size() - n) == tag.substr(0, n)) return n;
  return 0;
}

std::string StopFilter::push(std::string_view text) {
  if (stopped_) return {};
  held_ += text;
  // The earliest complete stop string ends the output.
  size_t cut = std::string::npos;
  for (const std::string& s : stops_) cut = std::min(cut, held_.find(s));
  if (cut != std::string::npos) {
    stopped_ = true;
    std::string out = held_.substr(0, cut);
    held_.clear();
    return out;
  }
  size_t hold = 0;
  for (const std::string& s : stops_) hold = std::max(hold, partial_suffix(held_, s));
  std::string out = held_.substr(0, held_.size() - hold);
  held_.erase(0, held_.size() - hold);
  return out;
}

std::string StopFilter::finish() {
  std::string out = stopped_ ? std::string() : std::move(held_);
  held_.clear();
  return out;
}

ReasoningSplitter::Delta ReasoningSplitter::push(std::string_view text) {
  Delta d;
  held_ += text;
  while (!held_.empty()) {
    if (state_ == State::kOpening) {
      const size_t start = std::min(held_.find_first_not_of(kSpace), held_.size());
      std::string_view rest = std::string_view(held_).substr(start);
      if (rest.starts_with(kThinkOpen)) {
        held_.erase(0, start + kThinkOpen.size());
        state_ = State::kReasoning;
        continue;
      }
      if (kThinkOpen.starts_with(rest)) return d;  // only whitespace or a prefix of <think> so far
      state_ = State::kContent;
      continue;
    }
    if (state_ == State::kReasoning) {
      const size_t close = held_.find(kThinkClose);
      if (close == std::string::npos) {
        const size_t hold = partial_suffix(held_, kThinkClose);
        d.reasoning += held_.substr(0, held_.size() - hold);
        held_.erase(0, held_.size() - hold);
        return d;
      }
      d.reasoning += held_.substr(0, close);
      held_.erase(0, close + kThinkClose.size());
      state_ = State::kContent;
      trim_content_ = true;
      continue;
    }
    if (trim_content_) {
      const size_t start = held_.find_first_not_of(kSpace);
      if (start == std::string::npos) {
        held_.clear();
        return d;
      }
      held_.erase(0, start);
      trim_content_ = false;
    }
    d.content += held_;
    held_.clear();
  }
  return d;
}

ReasoningSplitter::Delta ReasoningSplitter::finish() {
  Delta d;
  if (state_ == State::kReasoning)
    d.reasoning = std::move(held_);
  else if (!trim_content_)
    d.content = std::move(held_);
  held_.clear();
  return d;
}

}  // namespace whale::server
