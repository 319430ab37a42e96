#include "server/policy_pattern.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>

#include "core/error.h"
#include "server/policy_fold.h"
#include "tokenizer/utf8.h"

namespace whale::server {
namespace {

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof(buffer));
  return reinterpret_cast<const char*>(buffer);
}

// Per-thread match data, so one compiled pattern serves every request's stream.
pcre2_match_data* match_data() {
  thread_local const std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
      pcre2_match_data_create(1, nullptr), &pcre2_match_data_free);
  return data.get();
}

// A literal as a regex: every ASCII non-alphanumeric character escaped (always literal in PCRE2).
std::string escaped(std::string_view literal) {
  std::string out;
  for (char c : literal) {
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (static_cast<unsigned char>(c) < 0x80 && !alnum) out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

RulePattern RulePattern::regex(std::string_view pattern, bool case_insensitive, bool normalize,
                               const std::string& where) {
  return RulePattern(std::string(pattern), case_insensitive, normalize, where);
}

RulePattern RulePattern::literals(const std::vector<std::string>& literals, bool case_insensitive, bool normalize,
                                  const std::string& where) {
  std::vector<std::string> sorted;
  for (const std::string& l : literals) {
    sorted.push_back(normalize ? fold_text(l) : l);
    if (sorted.back().empty()) fail("{}: a literal must not be empty{}", where, l.empty() ? "" : " (once folded)");
  }
  // Alternatives are tried in order: the longest literal wins among those starting at the same place.
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  std::string alternation;
  for (const std::string& l : sorted) alternation += (alternation.empty() ? "" : "|") + escaped(l);
  return RulePattern(alternation, case_insensitive, normalize, where);
}

RulePattern::RulePattern(const std::string& pcre2_pattern, bool case_insensitive, bool normalize,
                         const std::string& where)
    : normalize_(normalize) {
  const uint32_t options = PCRE2_UTF | PCRE2_UCP | (case_insensitive || normalize ? PCRE2_CASELESS : 0);
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pcre2_pattern.data()), pcre2_pattern.size(),
                                   options, &error_code, &error_offset, nullptr);
  if (!code) fail("{}: cannot compile regex at offset {}: {}", where, error_offset, pcre2_message(error_code));
  code_ = std::shared_ptr<void>(code, [](void* c) { pcre2_code_free(static_cast<pcre2_code*>(c)); });
  uint32_t match_empty = 0, lookbehind = 0;
  pcre2_pattern_info(code, PCRE2_INFO_MATCHEMPTY, &match_empty);
  pcre2_pattern_info(code, PCRE2_INFO_MAXLOOKBEHIND, &lookbehind);
  if (match_empty) fail("{}: the regex can match the empty string", where);
  max_lookbehind_ = lookbehind;
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE | PCRE2_JIT_PARTIAL_HARD);  // the interpreter runs without JIT
}

PatternMatch RulePattern::find(std::string_view subject, size_t start, bool partial) const {
  pcre2_match_data* data = match_data();
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data);
  for (;;) {
    const int rc = pcre2_match(static_cast<pcre2_code*>(code_.get()), reinterpret_cast<PCRE2_SPTR>(subject.data()),
                               subject.size(), start, PCRE2_NO_UTF_CHECK | (partial ? PCRE2_PARTIAL_HARD : 0), data,
                               nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) return {};
    if (rc == PCRE2_ERROR_PARTIAL) return {PatternMatch::Kind::kPartial, ovector[0], subject.size()};
    // Engine limits (backtracking, depth) on a hostile regex: the rest of the subject counts as matched, so
    // that a rule which cannot be decided never lets its text through.
    if (rc < 0) return start < subject.size() ? PatternMatch{PatternMatch::Kind::kComplete, start, subject.size()}
                                              : PatternMatch{};
    if (ovector[1] > ovector[0]) return {PatternMatch::Kind::kComplete, ovector[0], ovector[1]};
    // An empty match (\K can make one despite the check at load): search on from the next character.
    if (ovector[1] >= subject.size()) return {};
    start = ovector[1] + utf8::sequence_length(subject, ovector[1]);
  }
}

}  // namespace whale::server
