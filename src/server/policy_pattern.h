// One policy rule's pattern: a PCRE2 regex (UTF + UCP) or a list of literals, searched with partial matching
// so that streamed text which could still grow into a match is known as such (PCRE2_PARTIAL_HARD).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace whale::server {

struct PatternMatch {
  enum class Kind { kNone, kComplete, kPartial };
  Kind kind = Kind::kNone;
  size_t begin = 0, end = 0;  // byte offsets in the subject; a partial match runs to the subject's end
};

class RulePattern {
 public:
  // `where` ("file:line") prefixes every error: a regex that does not compile or that can match the empty
  // string, an empty literal. With `normalize` the pattern is meant for folded text (policy_fold.h): literals
  // are folded here, and matching ignores case.
  static RulePattern regex(std::string_view pattern, bool case_insensitive, bool normalize, const std::string& where);
  static RulePattern literals(const std::vector<std::string>& literals, bool case_insensitive, bool normalize,
                              const std::string& where);

  bool normalize() const { return normalize_; }
  // How many characters before the start offset the pattern may look at (\b, lookbehind).
  size_t max_lookbehind() const { return max_lookbehind_; }
  // The first match at or after `start` (a character boundary) in valid UTF-8 `subject`. `partial`: the
  // subject may still continue, and a match that reaches its end is reported as kPartial from where it starts.
  PatternMatch find(std::string_view subject, size_t start, bool partial) const;

 private:
  RulePattern(const std::string& pcre2_pattern, bool case_insensitive, bool normalize, const std::string& where);

  std::shared_ptr<void> code_;  // pcre2_code_8
  bool normalize_ = false;
  size_t max_lookbehind_ = 0;
};

}  // namespace whale::server
