// Supervised fine-tuning targets: a chat rendered with the tokenizer's template, and a loss mask that is 1
// on the assistant's tokens (its content and the end-of-turn token the template puts after it) and 0 on
// system/user text and template markup.
//
// The mask is found without knowing the template: for the k-th message, when it is the assistant's,
//   before  = render(messages[:k], add_generation_prompt = true)    (everything up to the reply)
//   through = render(messages[:k+1], add_generation_prompt = false) (the same, plus the reply)
// and the reply is what `through` holds after the longest common prefix of the two (a generation prompt
// may open with text the finished turn lacks, e.g. R1's "<think>\n"). The span counts when the full
// rendering starts with `through`; a turn the full rendering shows differently (templates that rewrite
// earlier assistant turns) gets no loss. Token i is a target when its first byte lies in a span.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

namespace whale {

class ChatTemplate;
class Tokenizer;

struct SftExample {
  std::vector<int32_t> ids;   // [n_tok] the rendered conversation
  std::vector<uint8_t> mask;  // [n_tok] 1 on assistant tokens
  int n_assistant_turns = 0;  // assistant turns with loss
  int n_skipped_turns = 0;    // assistant turns the template renders differently in the full conversation
};

SftExample render_sft_example(const Tokenizer& tokenizer, const ChatTemplate& chat, const nlohmann::json& messages);

}  // namespace whale
