#include "server/policy_fold.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>

#include <algorithm>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace whale::server {
namespace {

const icu::Normalizer2& nfkc_casefold() {
  static const icu::Normalizer2* const n = [] {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* p = icu::Normalizer2::getNFKCCasefoldInstance(status);
    if (p == nullptr || U_FAILURE(status)) fail("ICU has no NFKC_Casefold data ({})", u_errorName(status));
    return p;
  }();
  return *n;
}

// Calls f(begin, end) for each normalisation segment of valid UTF-8 `text`, left to right. A segment starts
// at a code point with a boundary before it (every ASCII character has one).
template <typename F>
void for_each_segment(std::string_view text, F f) {
  const icu::Normalizer2& n = nfkc_casefold();
  size_t begin = 0;
  for (size_t pos = 0; pos < text.size();) {
    const size_t at = pos;
    const uint32_t cp = utf8::next_code_point(text, pos);
    if (at > begin && (cp < 0x80 || n.hasBoundaryBefore(UChar32(cp)))) {
      f(begin, at);
      begin = at;
    }
  }
  if (begin < text.size()) f(begin, text.size());
}

void append_folded(std::string_view segment, std::string& out) {
  if (segment.size() == 1 && static_cast<unsigned char>(segment[0]) < 0x80) {
    const char c = segment[0];
    out += c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c;
    return;
  }
  UErrorCode status = U_ZERO_ERROR;
  icu::StringByteSink<std::string> sink(&out);
  nfkc_casefold().normalizeUTF8(0, icu::StringPiece(segment.data(), int32_t(segment.size())), sink, nullptr, status);
  if (U_FAILURE(status)) fail("Unicode normalization failed: {}", u_errorName(status));
}

}  // namespace

std::string fold_text(std::string_view text) { return FoldedText(text).text(); }

size_t last_fold_boundary(std::string_view text) {
  size_t last = text.size();
  for_each_segment(text, [&](size_t begin, size_t) { last = begin; });
  return last;
}

FoldedText::FoldedText(std::string_view original) {
  folded_.reserve(original.size());
  for_each_segment(original, [&](size_t begin, size_t end) {
    original_.push_back(begin);
    folded_at_.push_back(folded_.size());
    append_folded(original.substr(begin, end - begin), folded_);
  });
  original_.push_back(original.size());
  folded_at_.push_back(folded_.size());
}

size_t FoldedText::original_begin(size_t folded_pos) const {
  // The last segment starting at or before folded_pos: segments that fold to nothing come before it.
  const auto k = std::upper_bound(folded_at_.begin(), folded_at_.end() - 1, folded_pos) - folded_at_.begin() - 1;
  return original_[size_t(k)];
}

size_t FoldedText::original_end(size_t folded_end) const {
  const auto k = std::upper_bound(folded_at_.begin(), folded_at_.end() - 1, folded_end - 1) - folded_at_.begin() - 1;
  return original_[size_t(k) + 1];
}

size_t FoldedText::folded_pos(size_t original_pos) const {
  const auto k = std::lower_bound(original_.begin(), original_.end(), original_pos) - original_.begin();
  return folded_at_[size_t(k)];
}

}  // namespace whale::server
