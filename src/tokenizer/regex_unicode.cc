#include "tokenizer/regex_unicode.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <fmt/format.h>
#include <pcre2.h>
#include <unicode/uchar.h>
#include <unicode/uniset.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <utility>
#include <vector>

namespace whale {
namespace {

using Ranges = std::vector<std::pair<UChar32, UChar32>>;

// U+180E MONGOLIAN VOWEL SEPARATOR: in PCRE2's \s, not White_Space.
constexpr UChar32 kMongolianVowelSeparator = 0x180E;

struct Reclassified {
  std::array<Ranges, U_CHAR_CATEGORY_COUNT> newer;  // assigned after PCRE2's Unicode version, per category
  icu::UnicodeSet all;                              // those and U+180E, frozen for fast spans
};

const Reclassified& reclassified() {
  static const Reclassified kReclassified = [] {
    Reclassified r;
    char version[32] = {};
    pcre2_config(PCRE2_CONFIG_UNICODE_VERSION, version);
    UErrorCode status = U_ZERO_ERROR;
    // Fails when ICU is older than PCRE2 (it does not know that version): then no character is newer.
    const icu::UnicodeSet newer(icu::UnicodeString::fromUTF8(fmt::format("[[:^Age={}:]-[:Cn:]]", version)), status);
    if (U_SUCCESS(status)) r.all = newer;
    for (int32_t i = 0; i < r.all.getRangeCount(); ++i)
      for (UChar32 c = r.all.getRangeStart(i); c <= r.all.getRangeEnd(i); ++c) {
        Ranges& ranges = r.newer[u_charType(c)];
        if (!ranges.empty() && ranges.back().second == c - 1) ranges.back().second = c;
        else ranges.emplace_back(c, c);
      }
    r.all.add(kMongolianVowelSeparator).freeze();
    return r;
  }();
  return kReclassified;
}

// A \p or \P escape: its length in the pattern, the property name without a leading '^', whether it is
// negated (\P or \p{^..}), and the class items (\x{..}-\x{..}) of the newer characters of its general
// categories (none when the name is not a general category).
struct PropertyEscape {
  size_t length;
  std::string_view name;
  bool negated;
  std::string newer;
};

PropertyEscape parse_property(std::string_view pattern, size_t i) {
  PropertyEscape e{2, {}, pattern[i + 1] == 'P', ""};
  if (i + 2 < pattern.size() && pattern[i + 2] == '{') {
    const size_t close = pattern.find('}', i + 3);
    if (close == std::string_view::npos) return e;  // unclosed: left for PCRE2 to report
    e.name = pattern.substr(i + 3, close - i - 3);
    e.length = close + 1 - i;
  } else {
    e.length = std::min<size_t>(3, pattern.size() - i);  // \pL: a one-letter name
    e.name = pattern.substr(i + 2, e.length - 2);
  }
  if (e.name.starts_with('^')) {
    e.negated = !e.negated;
    e.name.remove_prefix(1);
  }
  const int32_t mask = u_getPropertyValueEnum(UCHAR_GENERAL_CATEGORY_MASK, std::string(e.name).c_str());
  if (mask == UCHAR_INVALID_CODE) return e;
  for (int gc = 0; gc < U_CHAR_CATEGORY_COUNT; ++gc) {
    if ((U_MASK(gc) & uint32_t(mask)) == 0) continue;
    for (const auto& [lo, hi] : reclassified().newer[gc])
      e.newer += lo == hi ? fmt::format("\\x{{{:X}}}", lo) : fmt::format("\\x{{{:X}}}-\\x{{{:X}}}", lo, hi);
  }
  return e;
}

// Copies the escape at pattern[i] (not \p / \P) to `out`, \s and \S as White_Space; returns the index after it.
size_t copy_escape(std::string_view pattern, size_t i, std::string& out) {
  const char e = pattern[i + 1];
  if (e == 's' || e == 'S') {
    out += e == 's' ? "\\p{White_Space}" : "\\P{White_Space}";
    return i + 2;
  }
  size_t end = i + 2;
  if (e == 'Q') {  // \Q...\E is literal text
    const size_t close = pattern.find("\\E", i + 2);
    end = close == std::string_view::npos ? pattern.size() : close + 2;
  }
  out += pattern.substr(i, end - i);  // any other escape stays with the character it escapes
  return end;
}

bool is_escape(std::string_view pattern, size_t i) { return pattern[i] == '\\' && i + 1 < pattern.size(); }
bool is_property(std::string_view pattern, size_t i) {
  return is_escape(pattern, i) && (pattern[i + 1] == 'p' || pattern[i + 1] == 'P');
}

// Length of a POSIX class name "[:alpha:]" or "[:^alpha:]" at pattern[i], or 0 if there is none.
size_t posix_class_length(std::string_view pattern, size_t i) {
  if (pattern.substr(i, 2) != "[:") return 0;
  size_t j = i + 2;
  if (j < pattern.size() && pattern[j] == '^') ++j;
  while (j < pattern.size() && std::isalpha(uint8_t(pattern[j]))) ++j;
  return pattern.substr(j, 2) == ":]" ? j + 2 - i : 0;
}

// Rewrites the class starting at pattern[i] ('[') into `out`, the newer characters of its (positive)
// properties added to its items; returns the index after it.
size_t rewrite_class(std::string_view pattern, size_t i, std::string& out) {
  const size_t start = out.size();
  size_t j = i + 1;
  if (j < pattern.size() && pattern[j] == '^') ++j;
  if (j < pattern.size() && pattern[j] == ']') ++j;  // a ']' first in a class is a literal
  out += pattern.substr(i, j - i);
  while (j < pattern.size() && pattern[j] != ']') {
    if (const size_t n = posix_class_length(pattern, j)) {
      out += pattern.substr(j, n);
      j += n;
    } else if (is_property(pattern, j)) {
      const PropertyEscape e = parse_property(pattern, j);
      out += pattern.substr(j, e.length);
      if (!e.negated) out += e.newer;  // a negated property inside a class is left as is
      j += e.length;
    } else if (is_escape(pattern, j)) {
      j = copy_escape(pattern, j, out);
    } else {
      out += pattern[j++];
    }
  }
  if (j == pattern.size()) {  // unclosed: left as written for PCRE2 to report
    out.resize(start);
    out += pattern.substr(i);
    return j;
  }
  out += ']';
  return j + 1;
}

}  // namespace

bool has_reclassified_characters(std::string_view text) {
  if (text.size() > size_t(INT32_MAX)) return true;  // beyond ICU's lengths: assume so (always correct)
  return size_t(reclassified().all.spanUTF8(text.data(), int32_t(text.size()), USET_SPAN_NOT_CONTAINED)) <
         text.size();
}

std::string with_hf_character_classes(std::string_view pattern) {
  // Properties stay single-character items (in a class when widened): a repeated class needs no JIT stack
  // per character, where a repeated group would run out of it on long words.
  std::string out;
  out.reserve(pattern.size());
  size_t i = 0;
  while (i < pattern.size()) {
    if (pattern[i] == '[') {
      i = rewrite_class(pattern, i, out);
    } else if (is_property(pattern, i)) {
      const PropertyEscape e = parse_property(pattern, i);
      if (e.newer.empty()) out += pattern.substr(i, e.length);
      else out += fmt::format("[{}\\p{{{}}}{}]", e.negated ? "^" : "", e.name, e.newer);
      i += e.length;
    } else if (is_escape(pattern, i)) {
      i = copy_escape(pattern, i, out);
    } else {
      out += pattern[i++];
    }
  }
  return out;
}

}  // namespace whale
