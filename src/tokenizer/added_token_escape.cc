#include "tokenizer/added_token_escape.h"

namespace whale {
namespace {

// The characters used are U+F0000 + k: UTF-8 three fixed bytes, then 0x80 + k (k < 64).
constexpr std::string_view kPrefix = "\xF3\xB0\x80";
constexpr int kOpen = 0, kClose = 1, kDigit0 = 0x10;
constexpr std::string_view kOpenChar = "\xF3\xB0\x80\x80";
constexpr size_t kCharBytes = 4;
constexpr size_t kMaxDigits = 10;  // more than any index has: a longer run is malformed

void append_char(int k, std::string& out) {
  out += kPrefix;
  out += char(0x80 + k);
}

void append_placeholder(size_t index, std::string& out) {
  append_char(kOpen, out);
  for (char d : std::to_string(index)) append_char(kDigit0 + (d - '0'), out);
  append_char(kClose, out);
}

// k of the character U+F0000 + k at text[pos], or -1 if there is none there.
int char_at(std::string_view text, size_t pos) {
  if (text.size() - pos < kCharBytes || text.compare(pos, kPrefix.size(), kPrefix) != 0) return -1;
  const int k = uint8_t(text[pos + kPrefix.size()]) - 0x80;
  return k >= 0 && k < 64 ? k : -1;
}

// The index of the placeholder whose U+F0000 is at text[pos], or -1 if it is malformed; sets *end past it.
int64_t parse_placeholder(std::string_view text, size_t pos, size_t n_tokens, size_t* end) {
  int64_t index = 0;
  size_t n_digits = 0;
  pos += kCharBytes;
  for (int k = char_at(text, pos); k >= kDigit0 && k < kDigit0 + 10; k = char_at(text, pos)) {
    if (++n_digits > kMaxDigits) return -1;
    index = index * 10 + (k - kDigit0);
    pos += kCharBytes;
  }
  if (n_digits == 0 || char_at(text, pos) != kClose || index > int64_t(n_tokens)) return -1;
  *end = pos + kCharBytes;
  return index;
}

}  // namespace

void escape_added_tokens(const AddedVocabulary& added, std::string_view text, std::string& out) {
  out.reserve(out.size() + text.size());
  size_t copied = 0;  // text[copied, pos) is still to be appended
  for (size_t pos = 0; pos < text.size();) {
    size_t end = 0;
    int64_t index = -1;
    if (text.compare(pos, kOpenChar.size(), kOpenChar) == 0) {
      index = int64_t(added.tokens().size());
      end = pos + kCharBytes;
    } else {
      index = added.spelled_at(text, pos, &end);
    }
    if (index < 0) {
      ++pos;
      continue;
    }
    out.append(text.substr(copied, pos - copied));
    append_placeholder(size_t(index), out);
    pos = copied = end;
  }
  out.append(text.substr(copied));
}

void restore_added_tokens(const AddedVocabulary& added, std::string_view text, std::string& out) {
  out.reserve(out.size() + text.size());
  for (size_t pos = 0; pos < text.size();) {
    const size_t open = text.find(kOpenChar, pos);
    out.append(text.substr(pos, open - pos));
    if (open == std::string_view::npos) return;
    size_t end = 0;
    const int64_t index = parse_placeholder(text, open, added.tokens().size(), &end);
    if (index < 0) {
      out.append(kOpenChar);
      pos = open + kCharBytes;
      continue;
    }
    out.append(size_t(index) == added.tokens().size() ? kOpenChar : std::string_view(added.tokens()[index].content));
    pos = end;
  }
}

bool has_escaped_added_tokens(std::string_view text) { return text.find(kOpenChar) != std::string_view::npos; }

}  // namespace whale
