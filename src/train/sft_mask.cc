#include "train/sft_mask.h"

#include <algorithm>
#include <string>
#include <utility>

#include "core/error.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace whale {

namespace {

nlohmann::json first_messages(const nlohmann::json& messages, size_t k) {
  return nlohmann::json(messages.begin(), messages.begin() + std::ptrdiff_t(k));
}

}  // namespace

SftExample render_sft_example(const Tokenizer& tokenizer, const ChatTemplate& chat, const nlohmann::json& messages) {
  if (!messages.is_array() || messages.empty()) fail("'messages' must be a non-empty array");
  SftExample ex;
  const std::string full = chat.render(messages, false);
  std::vector<std::pair<size_t, size_t>> spans;  // byte ranges [begin, end) of assistant replies in `full`
  for (size_t k = 0; k < messages.size(); ++k) {
    const nlohmann::json& m = messages[k];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      fail("message {}: expected an object with a string 'role'", k);
    if (m["role"] != "assistant") continue;
    const std::string before = chat.render(first_messages(messages, k), true);
    const std::string through = chat.render(first_messages(messages, k + 1), false);
    // The reply starts where the two renderings part (a generation prompt may add text the finished turn
    // lacks, e.g. an opening "<think>").
    const auto parted = std::mismatch(before.begin(), before.end(), through.begin(), through.end()).second;
    const size_t reply_begin = size_t(parted - through.begin());
    if (full.compare(0, through.size(), through) != 0) {
      ++ex.n_skipped_turns;
      continue;
    }
    if (through.size() > reply_begin) spans.emplace_back(reply_begin, through.size());
    ++ex.n_assistant_turns;
  }
  if (ex.n_assistant_turns == 0) fail("the conversation has no assistant turn to train on");

  ex.ids = tokenizer.encode(full);
  ex.mask.assign(ex.ids.size(), 0);
  size_t offset = 0, span = 0;
  for (size_t i = 0; i < ex.ids.size(); ++i) {
    while (span < spans.size() && spans[span].second <= offset) ++span;
    if (span < spans.size() && offset >= spans[span].first) ex.mask[i] = 1;
    offset += tokenizer.token_bytes(ex.ids[i]).size();
  }
  // Holds for byte-level BPE without normalizers (the only kind Tokenizer loads); guards the offsets above.
  if (offset != full.size())
    fail("tokens of the rendered chat cover {} bytes, the text has {}: cannot align the loss mask", offset,
         full.size());
  return ex;
}

}  // namespace whale
