// Incremental filters over decoded text as it streams out of the engine.
// StopFilter: cuts the output at the first stop string; text that could still become a stop string is
// held back until it cannot. ReasoningSplitter: routes text between <think> and </think> to
// reasoning_content and the rest to content, as DeepSeek's API does.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace whale::server {

// Whether a rendered chat prompt ends inside <think> (R1's generation prompt ends in "<think>\n"): the
// output then starts in the reasoning.
bool ends_inside_think(std::string_view prompt);

// Length of the longest proper prefix of `tag` that `text` ends with.
size_t partial_suffix(std::string_view text, std::string_view tag);

class StopFilter {
 public:
  explicit StopFilter(std::vector<std::string> stops) : stops_(std::move(stops)) {}
  // Returns the text that can be emitted now. After a stop string appears, stopped() is true and the
  // stop string and everything after it are dropped.
  std::string push(std::string_view text);
  // End of output without a stop string: the held text.
  std::string finish();
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
};

class ReasoningSplitter {
 public:
  struct Delta {
    std::string reasoning, content;
    bool empty() const { return reasoning.empty() && content.empty(); }
  };
  // in_reasoning: the prompt already opened <think> (R1's generation prompt ends in "<think>\n").
  // Otherwise an output that starts with <think> (after whitespace) opens it.
  explicit ReasoningSplitter(bool in_reasoning) : state_(in_reasoning ? State::kReasoning : State::kOpening) {}
  Delta push(std::string_view text);
  Delta finish();
  // Between <think> and </think> (the tags' own text counts as reasoning).
  bool in_reasoning() const { return state_ == State::kReasoning; }

 private:
  enum class State { kOpening, kReasoning, kContent };
  State state_;
  std::string held_;
  bool trim_content_ = false;  // drop the whitespace that follows </think>
};

}  // namespace whale::server
