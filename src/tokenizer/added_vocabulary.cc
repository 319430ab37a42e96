#include "tokenizer/added_vocabulary.h"

#include "tokenizer/regex.h"

namespace whale {
namespace {

// Start of the character that ends just before byte offset `pos` (pos > 0).
size_t previous_char_start(std::string_view text, size_t pos) {
  do --pos;
  while (pos > 0 && (uint8_t(text[pos]) & 0xC0) == 0x80);
  return pos;
}

const Regex& whitespace_char() {
  static const Regex r(R"(\p{White_Space})", "added token whitespace class");
  return r;
}

const Regex& word_char() {
  static const Regex r(R"([\p{Alphabetic}\p{N}_])", "added token word class");
  return r;
}

size_t char_length(std::string_view text, size_t pos) {
  size_t n = 1;
  while (pos + n < text.size() && (uint8_t(text[pos + n]) & 0xC0) == 0x80) ++n;
  return n;
}

}  // namespace

void AddedVocabulary::Trie::insert(std::string_view s, int32_t token_index) {
  if (s.empty()) return;
  first_byte[uint8_t(s[0])] = true;
  int32_t node = 0;
  for (char c : s) {
    const uint64_t key = (uint64_t(node) << 8) | uint8_t(c);
    auto it = edges.find(key);
    if (it == edges.end()) {
      it = edges.emplace(key, int32_t(token_at.size())).first;
      token_at.push_back(-1);
    }
    node = it->second;
  }
  token_at[node] = token_index;
}

int32_t AddedVocabulary::Trie::longest_at(std::string_view text, size_t pos, size_t* end) const {
  int32_t node = 0, found = -1;
  for (size_t i = pos; i < text.size(); ++i) {
    const auto it = edges.find((uint64_t(node) << 8) | uint8_t(text[i]));
    if (it == edges.end()) break;
    node = it->second;
    if (token_at[node] >= 0) {
      found = token_at[node];
      *end = i + 1;
    }
  }
  return found;
}

void AddedVocabulary::add(const AddedToken& token) {
  const int32_t index = int32_t(tokens_.size());
  tokens_.push_back(token);
  if (token.normalized) {
    normalized_trie_.insert(token.content, index);
    has_normalized_ = true;
  } else {
    raw_trie_.insert(token.content, index);
  }
}

int32_t AddedVocabulary::spelled_at(std::string_view text, size_t pos, size_t* end) const {
  const uint8_t first = uint8_t(text[pos]);
  size_t raw_end = 0, normalized_end = 0;
  const int32_t raw = raw_trie_.first_byte[first] ? raw_trie_.longest_at(text, pos, &raw_end) : -1;
  const int32_t normalized =
      normalized_trie_.first_byte[first] ? normalized_trie_.longest_at(text, pos, &normalized_end) : -1;
  if (raw < 0 && normalized < 0) return -1;
  const bool take_raw = raw >= 0 && (normalized < 0 || raw_end >= normalized_end);
  *end = take_raw ? raw_end : normalized_end;
  return take_raw ? raw : normalized;
}

void AddedVocabulary::split_with(const Trie& trie, std::string_view text, std::vector<TextSegment>& out) const {
  size_t text_start = 0;  // start of the pending text piece
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = 0;
    const int32_t index = trie.first_byte[uint8_t(text[pos])] ? trie.longest_at(text, pos, &end) : -1;
    if (index < 0) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens_[index];
    size_t begin = pos;
    if (token.single_word) {
      const bool word_before = begin > 0 && word_char().matches_at(text, previous_char_start(text, begin));
      const bool word_after = end < text.size() && word_char().matches_at(text, end);
      if (word_before || word_after) {
        pos = end;  // the rejected match is skipped whole, as a non-overlapping match scan does
        continue;
      }
    }
    if (token.lstrip)
      while (begin > text_start && whitespace_char().matches_at(text, previous_char_start(text, begin)))
        begin = previous_char_start(text, begin);
    if (token.rstrip)
      while (end < text.size() && whitespace_char().matches_at(text, end)) end += char_length(text, end);
    if (begin > text_start) out.push_back({text.substr(text_start, begin - text_start), -1});
    out.push_back({text.substr(begin, end - begin), token.id});
    pos = text_start = end;
  }
  if (text_start < text.size()) out.push_back({text.substr(text_start), -1});
}

void AddedVocabulary::split(std::string_view text, std::vector<TextSegment>& out) const {
  if (!has_normalized_) {
    split_with(raw_trie_, text, out);
    return;
  }
  std::vector<TextSegment> first;
  split_with(raw_trie_, text, first);
  for (const TextSegment& s : first) {
    if (s.id >= 0) out.push_back(s);
    else split_with(normalized_trie_, s.text, out);
  }
}

}  // namespace whale
