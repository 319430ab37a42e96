// PCRE2 regex (UTF + UCP, JIT-compiled) as tokenizer.json patterns need: \p{L}, \p{N}, lookahead, ... matching
// what HF's classes match (regex_unicode.h): texts holding a character that PCRE2 classifies differently use the
// pattern rewritten for it, all others the pattern as written, which PCRE2's JIT runs faster.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace whale {

using Span = std::pair<size_t, size_t>;  // [begin, end) byte offsets

class Regex {
 public:
  // `source` names where the pattern came from, for error messages. `literal` matches the text verbatim.
  Regex(std::string_view pattern, std::string_view source, bool literal = false);

  // Appends the spans of all non-overlapping matches, left to right. `text` must be valid UTF-8.
  // An empty match is recorded and the search resumes one character later.
  void find_all(std::string_view text, std::vector<Span>& out) const;

  // True if the pattern matches starting exactly at byte offset `pos`.
  bool matches_at(std::string_view text, size_t pos) const;

 private:
  std::shared_ptr<void> code_;     // pcre2_code_8 of the pattern as written
  std::shared_ptr<void> hf_code_;  // the pattern with HF's character classes, where they differ
};

}  // namespace whale
