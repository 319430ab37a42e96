#include "tokenizer/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/error.h"
#include "tokenizer/regex_unicode.h"
#include "tokenizer/utf8.h"

namespace whale {
namespace {

// Per-thread match buffers and JIT stack, so one compiled Regex can be used from many threads.
struct MatchScratch {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  MatchScratch() { pcre2_jit_stack_assign(context, nullptr, stack); }
  ~MatchScratch() {
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(stack);
    pcre2_match_data_free(data);
  }
};

MatchScratch& scratch() {
  thread_local MatchScratch s;
  return s;
}

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof(buffer));
  return reinterpret_cast<const char*>(buffer);
}

pcre2_code* as_code(const std::shared_ptr<void>& p) { return static_cast<pcre2_code*>(p.get()); }

// Runs one match from `start`; returns false when there is none. Throws on engine errors (e.g. JIT stack).
bool match_once(pcre2_code* code, std::string_view text, size_t start, uint32_t options, Span& span) {
  MatchScratch& s = scratch();
  const int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), start,
                             options | PCRE2_NO_UTF_CHECK, s.data, s.context);
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc < 0) fail("regex match failed at byte {}: {}", start, pcre2_message(rc));
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(s.data);
  span = {ovector[0], ovector[1]};
  return true;
}

}  // namespace

Regex::Regex(std::string_view pattern, std::string_view source, bool literal) {
  const uint32_t options = PCRE2_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP);  // LITERAL excludes UCP
  auto compile = [&](std::string_view p, std::string_view what) {
    int error_code = 0;
    PCRE2_SIZE error_offset = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(p.data()), p.size(), options, &error_code,
                                     &error_offset, nullptr);
    if (!code)
      fail("{}: cannot compile regex{} at offset {}: {}", source, what, error_offset, pcre2_message(error_code));
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT is unavailable
    return std::shared_ptr<void>(code, [](void* c) { pcre2_code_free(static_cast<pcre2_code*>(c)); });
  };
  code_ = compile(pattern, "");
  if (literal) return;
  const std::string hf = with_hf_character_classes(pattern);
  if (hf == pattern) return;
  hf_code_ = compile(hf, " (rewritten for HF's character classes)");
}

void Regex::find_all(std::string_view text, std::vector<Span>& out) const {
  pcre2_code* code = as_code(hf_code_ && has_reclassified_characters(text) ? hf_code_ : code_);
  size_t start = 0;
  Span span;
  while (start <= text.size() && match_once(code, text, start, 0, span)) {
    out.push_back(span);
    if (span.second > span.first) {
      start = span.second;
    } else {
      if (span.second >= text.size()) break;
      size_t next = span.second;
      utf8::next_code_point(text, next);
      start = next;
    }
  }
}

bool Regex::matches_at(std::string_view text, size_t pos) const {
  Span span;
  return match_once(as_code(hf_code_ ? hf_code_ : code_), text, pos, PCRE2_ANCHORED, span);
}

}  // namespace whale
