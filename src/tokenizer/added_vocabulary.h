// Added tokens (special or not) of tokenizer.json: matched in the raw text before pre-tokenization,
// leftmost-longest, as HF's AddedVocabulary does (tokens with normalized=false first, then the others in
// the text left between them).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace whale {

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false;
  bool normalized = false;
  bool lstrip = false;       // also swallow whitespace on the left
  bool rstrip = false;       // also swallow whitespace on the right
  bool single_word = false;  // match only when not inside a word
};

// One piece of input: an added token (id >= 0) or text to pre-tokenize and BPE-encode (id < 0).
struct TextSegment {
  std::string_view text;
  int32_t id;
};

class AddedVocabulary {
 public:
  void add(const AddedToken& token);
  const std::vector<AddedToken>& tokens() const { return tokens_; }
  bool empty() const { return tokens_.empty(); }

  // Splits `text` into added tokens and the text between them (empty text pieces are dropped).
  void split(std::string_view text, std::vector<TextSegment>& out) const;
  // Index into tokens() of the longest token whose content is spelled at text[pos], whatever its flags
  // (single_word, normalized, ...), or -1; sets *end past it.
  int32_t spelled_at(std::string_view text, size_t pos, size_t* end) const;

 private:
  // Byte trie over token contents; node 0 is the root.
  struct Trie {
    std::unordered_map<uint64_t, int32_t> edges;  // (node << 8 | byte) → child
    std::vector<int32_t> token_at;                // [n_nodes] index into tokens_ ending here, or -1
    bool first_byte[256] = {};
    Trie() : token_at(1, -1) {}
    void insert(std::string_view s, int32_t token_index);
    // Index of the longest token starting at text[pos], or -1; sets *end past it.
    int32_t longest_at(std::string_view text, size_t pos, size_t* end) const;
  };
  void split_with(const Trie& trie, std::string_view text, std::vector<TextSegment>& out) const;

  std::vector<AddedToken> tokens_;
  Trie raw_trie_;         // normalized = false
  Trie normalized_trie_;  // normalized = true
  bool has_normalized_ = false;
};

}  // namespace whale
