#include "train/sft_mask.h"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/error.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace whale {

namespace {

using nlohmann::json;

json first_messages(const json& messages, size_t k) {
  return json(messages.begin(), messages.begin() + std::ptrdiff_t(k));
}

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

// Letters only, so no template filter (trim, split on a tag, escaping) changes it, and absent from the
// conversation, so each occurrence in the rendering is one we put there.
std::string placeholder_stem(const json& messages) {
  const std::string all = messages.dump();
  std::string stem = "WhaleReplyPlaceholder";
  while (all.find(stem) != std::string::npos) stem += 'Q';
  return stem;
}

std::string placeholder(const std::string& stem, size_t k) { return stem + std::to_string(k) + "Z"; }

// When `content` opens with `opening` up to white space ("<think>\n" vs "<think>" + "\n\n"), the content
// after that opening; otherwise nullopt.
std::optional<std::string_view> after_opening(std::string_view content, std::string_view opening) {
  std::string_view core = opening;
  while (!core.empty() && is_space(core.back())) core.remove_suffix(1);
  size_t lead = 0;
  while (lead < content.size() && is_space(content[lead])) ++lead;
  content.remove_prefix(lead);
  if (core.empty() || !content.starts_with(core)) return std::nullopt;
  content.remove_prefix(core.size());
  while (!content.empty() && is_space(content.front())) content.remove_prefix(1);
  return content;
}

struct Reply {
  size_t k = 0;             // message index
  std::string placeholder;  // its stand-in in the rendering
  std::string text;         // what replaces the stand-in
  bool trained = false;
  size_t at = 0;          // rendering offset of the stand-in in its own turn
  size_t turn_end = 0;    // rendering offset of the end of the finished turn
  size_t loss_begin = 0;  // begin_in_reply: offset into `text`; else a rendering offset before `at`
  bool begin_in_reply = false;
  size_t text_at = 0;  // offset of `text` in the final text
};

// A copied stretch of the rendering: full[full_begin, full_end) sits, its escapes restored, at
// text[text_begin, ...).
struct Stretch {
  size_t full_begin, full_end, text_begin;
};

// Text offset of rendering offset p, which lies in (or at the end of) a copied stretch.
size_t to_text(const Tokenizer& tokenizer, const std::string& full, const std::vector<Stretch>& stretches, size_t p) {
  for (const Stretch& s : stretches)
    if (p >= s.full_begin && p <= s.full_end)
      return s.text_begin + tokenizer.restore_escaped(std::string_view(full).substr(s.full_begin, p - s.full_begin)).size();
  fail("chat template: an assistant turn ends inside another reply");
}

}  // namespace

SftExample render_sft_example(const Tokenizer& tokenizer, const ChatTemplate& chat, const json& messages) {
  if (!messages.is_array() || messages.empty()) fail("'messages' must be a non-empty array");
  const std::string stem = placeholder_stem(messages);
  // Assistant contents replaced by placeholders; every other message's strings escaped, so that text a user
  // wrote is encoded as text even where it spells an added token (R1 instructions mention "<think>" tags),
  // exactly as serving encodes it (ChatTemplate::render_for_encoding). Replies keep their tags as tokens: the
  // model writes <think> and </think> as the added tokens.
  json stand_ins = json::array();
  std::vector<Reply> replies;
  for (size_t k = 0; k < messages.size(); ++k) {
    const json& m = messages[k];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      fail("message {}: expected an object with a string 'role'", k);
    if (m["role"] != "assistant") {
      stand_ins.push_back(escape_strings(tokenizer, m));
      continue;
    }
    stand_ins.push_back(m);
    if (!m.contains("content") || !m["content"].is_string())
      fail("message {}: an assistant turn to train on needs a string 'content'", k);
    replies.push_back({.k = k, .placeholder = placeholder(stem, k), .text = m["content"].get<std::string>()});
    stand_ins[k]["content"] = replies.back().placeholder;
  }
  if (replies.empty()) fail("the conversation has no assistant turn to train on");

  const std::string full = chat.render(stand_ins, false);
  SftExample ex;
  for (Reply& r : replies) {
    const std::string prompt = chat.render(first_messages(stand_ins, r.k), true);
    const std::string turn = chat.render(first_messages(stand_ins, r.k + 1), false);
    const size_t at = turn.rfind(r.placeholder);
    if (at == std::string::npos || full.compare(0, turn.size(), turn) != 0) {
      ++ex.n_skipped_turns;
      continue;
    }
    r.trained = true;
    r.at = at;
    r.turn_end = turn.size();
    const size_t parted =
        size_t(std::mismatch(prompt.begin(), prompt.end(), turn.begin(), turn.end()).first - prompt.begin());
    r.loss_begin = std::min(parted, at);  // a prompt that agrees with part of a stand-in: all of the reply
    r.begin_in_reply = parted >= at;
    if (parted == at && prompt.size() > at) {  // the generation prompt opens the reply
      const std::string_view opening = std::string_view(prompt).substr(at);
      if (std::optional<std::string_view> rest = after_opening(r.text, opening)) {
        r.text = std::string(opening) + std::string(*rest);
        r.loss_begin = opening.size();
      } else {
        r.loss_begin = 0;
      }
    } else if (r.begin_in_reply) {
      r.loss_begin = 0;
    }
    ++ex.n_assistant_turns;
  }
  if (ex.n_assistant_turns == 0) fail("the conversation has no assistant turn to train on");

  // Every stand-in the rendering shows becomes its reply. `escaped` is what gets encoded; `text` is what its
  // tokens spell (escapes restored), in whose offsets the spans are.
  std::string escaped, text;
  std::vector<Stretch> stretches;
  for (size_t copied = 0;;) {
    const size_t pos = full.find(stem, copied);
    const size_t upto = pos == std::string::npos ? full.size() : pos;
    stretches.push_back({copied, upto, text.size()});
    const std::string_view piece = std::string_view(full).substr(copied, upto - copied);
    escaped += piece;
    text += tokenizer.restore_escaped(piece);
    if (pos == std::string::npos) break;
    const auto r = std::find_if(replies.begin(), replies.end(), [&](const Reply& x) {
      return full.compare(pos, x.placeholder.size(), x.placeholder) == 0;
    });
    if (r == replies.end()) fail("chat template: cannot place an assistant reply in the rendering");
    if (pos == r->at) r->text_at = text.size();
    escaped += r->text;
    text += r->text;
    copied = pos + r->placeholder.size();
  }
  std::vector<std::pair<size_t, size_t>> spans;  // byte ranges [begin, end) of the targets in `text`
  for (const Reply& r : replies)
    if (r.trained)
      spans.emplace_back(
          r.begin_in_reply ? r.text_at + r.loss_begin : to_text(tokenizer, full, stretches, r.loss_begin),
          to_text(tokenizer, full, stretches, r.turn_end));
  std::sort(spans.begin(), spans.end());

  ex.ids = tokenizer.encode(escaped, {.restore_escaped = true});
  ex.mask.assign(ex.ids.size(), 0);
  size_t offset = 0, span = 0;
  for (size_t i = 0; i < ex.ids.size(); ++i) {
    while (span < spans.size() && spans[span].second <= offset) ++span;
    if (span < spans.size() && offset >= spans[span].first) ex.mask[i] = 1;
    offset += tokenizer.token_bytes(ex.ids[i]).size();
  }
  // Holds for byte-level BPE without normalizers (the only kind Tokenizer loads); guards the offsets above.
  if (offset != text.size())
    fail("tokens of the rendered chat cover {} bytes, the text has {}: cannot align the loss mask", offset,
         text.size());
  return ex;
}

}  // namespace whale
