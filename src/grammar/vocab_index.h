// What constrained decoding precomputes once per tokenizer and shares between requests (any grammar):
// - the trie of every ordinary token's bytes (special and added tokens are left out: they never appear
//   inside generated JSON; a token spelling an added token's text is left out too);
// - the string fast path (token_mask.h): inside a string most tokens are plain characters, allowed or not
//   by their length alone. For each UTF-8 state, plain_chars gives a token's characters when all its bytes
//   are string content (no quote, backslash or control byte, well-formed UTF-8 from that state). Tokens with
//   a quote or backslash after a plain prefix are grouped by the characters of that prefix, each group a trie
//   of the suffixes from the quote/backslash on, whose entries carry the UTF-8 states the prefix is valid
//   from (ending between characters): a mask walks these small tries instead of the whole vocabulary;
// - for reasoning models, the tokens that complete the reasoning end tag from each partial match, with the
//   offset where the tag ends (the bytes after it are the start of the constrained output).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "grammar/tag_matcher.h"
#include "grammar/token_trie.h"
#include "grammar/utf8_dfa.h"
#include "tokenizer/tokenizer.h"

namespace whale::grammar {

inline constexpr std::string_view kReasoningEnd = "</think>";

class VocabIndex {
 public:
  static constexpr uint16_t kNotPlain = 0xFFFF;
  struct QuoteGroup {
    uint32_t chars;      // characters of the plain prefix before the quote or backslash
    TokenTrie suffixes;  // payload: bit s set if the prefix is valid from UTF-8 state s
  };
  struct TagCompletion {
    int32_t id;
    uint32_t offset;  // bytes of the token up to the end of the tag
  };

  explicit VocabIndex(const Tokenizer& tokenizer);

  int32_t size() const { return int32_t(bytes_.size()); }  // ids covered: the tokenizer's
  bool ordinary(int32_t id) const { return id >= 0 && id < size() && ordinary_[size_t(id)]; }
  // The bytes a token contributes to the text ("" for an id the tokenizer does not know).
  std::string_view bytes(int32_t id) const { return bytes_[size_t(id)]; }
  const TokenTrie& trie() const { return trie_; }
  // [size()] characters of a plain token read from UTF-8 state `utf8`, or kNotPlain.
  const std::vector<uint16_t>& plain_chars(uint8_t utf8) const { return plain_chars_[utf8]; }
  const std::vector<QuoteGroup>& quote_groups() const { return quote_groups_; }

  const TagMatcher& reasoning_end() const { return reasoning_end_; }
  // Tokens whose bytes, read after `matched` bytes of the tag, complete it.
  const std::vector<TagCompletion>& completing_tag(size_t matched) const { return completing_tag_[matched]; }

 private:
  std::vector<std::string> bytes_;  // [size()]
  std::vector<uint8_t> ordinary_;   // [size()]
  TokenTrie trie_;
  std::vector<uint16_t> plain_chars_[kUtf8States];
  std::vector<QuoteGroup> quote_groups_;
  TagMatcher reasoning_end_{kReasoningEnd};
  std::vector<std::vector<TagCompletion>> completing_tag_;  // [tag size]
};

}  // namespace whale::grammar
