#include "grammar/vocab_index.h"

#include <algorithm>
#include <map>

namespace whale::grammar {
namespace {

bool string_special(uint8_t c) { return c == '"' || c == '\\' || c < 0x20; }

}  // namespace

VocabIndex::VocabIndex(const Tokenizer& tokenizer) {
  const int32_t n = tokenizer.vocab_size();
  bytes_.resize(size_t(n));
  ordinary_.assign(size_t(n), 0);
  std::vector<TokenTrie::Entry> entries;
  for (int32_t id = 0; id < n; ++id) {
    if (!tokenizer.is_valid_id(id)) continue;
    bytes_[size_t(id)] = tokenizer.token_bytes(id);
    const std::string& b = bytes_[size_t(id)];
    if (b.empty() || tokenizer.is_special(id) || tokenizer.escape_added_tokens(b) != b) continue;
    ordinary_[size_t(id)] = 1;
    entries.push_back({b, id, 0xFF});
  }
  trie_ = TokenTrie::build(entries);

  // The string fast path.
  for (auto& table : plain_chars_) table.assign(size_t(n), kNotPlain);
  std::map<uint32_t, std::vector<TokenTrie::Entry>> groups;  // prefix characters → suffix entries
  for (const TokenTrie::Entry& e : entries) {
    const std::string_view b = e.bytes;
    const size_t special =
        size_t(std::find_if(b.begin(), b.end(), [](char c) { return string_special(uint8_t(c)); }) - b.begin());
    // Characters start at the bytes that are not continuation bytes, whatever the state the token starts in.
    const uint32_t chars = uint32_t(
        std::count_if(b.begin(), b.begin() + ptrdiff_t(special), [](char c) { return (uint8_t(c) & 0xC0) != 0x80; }));
    uint8_t valid_from = 0;  // states from which the plain prefix is well-formed (and, before a quote, complete)
    for (uint8_t s = 0; s < kUtf8States; ++s) {
      uint8_t u = s;
      for (size_t i = 0; i < special && u != kUtf8Reject; ++i) u = utf8_next(u, uint8_t(b[i]));
      if (u == kUtf8Reject) continue;
      if (special == b.size())
        plain_chars_[s][size_t(e.id)] = uint16_t(std::min<uint32_t>(chars, kNotPlain - 1));
      else if (u == 0)
        valid_from |= uint8_t(1u << s);
    }
    if (special < b.size() && uint8_t(b[special]) >= 0x20 && valid_from != 0)  // a quote or backslash
      groups[chars].push_back({b.substr(special), e.id, valid_from});
  }
  for (auto& [chars, group] : groups) quote_groups_.push_back({chars, TokenTrie::build(std::move(group))});

  // Reasoning end.
  completing_tag_.resize(reasoning_end_.size());
  for (int32_t id = 0; id < n; ++id) {
    if (bytes_[size_t(id)].empty()) continue;
    for (size_t m = 0; m < reasoning_end_.size(); ++m) {
      size_t matched = m;
      const size_t end = reasoning_end_.find_end(matched, bytes_[size_t(id)]);
      if (end != std::string_view::npos) completing_tag_[m].push_back({id, uint32_t(end)});
    }
  }
}

}  // namespace whale::grammar
