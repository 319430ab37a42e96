// Supervised fine-tuning targets: a chat rendered with the tokenizer's template, and a loss mask that is 1
// on the assistant's tokens (its content and the end-of-turn text the template puts after it) and 0 on
// system/user text and template markup.
//
// The template is used without knowing it: every assistant content is replaced by a placeholder word, the
// conversation is rendered, and each placeholder is then replaced by the content it stands for, verbatim.
// So the reply is trained as the model must write it, reasoning included, even where the template would
// strip it (R1's templates keep only the text after "</think>"; at inference the reasoning is the model's
// own output). For the k-th message, when it is the assistant's,
//   prompt = render(messages[:k], add_generation_prompt = true)     (what the model sees at inference)
//   turn   = render(messages[:k+1], add_generation_prompt = false)  (the same, plus the reply)
// The generation prompt may end in text the finished turn lacks (R1's "<think>\n"): that text is part of
// the prompt at inference, so when the reply opens with it (up to white space: "<think>" + "\n"s) the
// reply's opening is written as the prompt writes it and gets no loss; a reply that opens otherwise
// follows the finished turn's rendering. A placeholder the full rendering does not show (templates that
// rewrite or drop earlier assistant turns) gets no loss. Token i is a target when its first byte lies in a
// reply's span.
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
