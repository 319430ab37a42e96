#include "tokenizer/utf8.h"

#include "core/error.h"

namespace whale::utf8 {
namespace {

// Valid range of the second byte for each lead byte (the other continuation bytes are always 80..BF).
struct LeadInfo {
  int length;  // 0: not a lead byte
  uint8_t lo, hi;
};

LeadInfo lead_info(uint8_t b) {
  if (b < 0x80) return {1, 0, 0};
  if (b >= 0xC2 && b <= 0xDF) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};
  if (b == 0xED) return {3, 0x80, 0x9F};  // excludes surrogates
  if (b >= 0xE1 && b <= 0xEF) return {3, 0x80, 0xBF};
  if (b == 0xF0) return {4, 0x90, 0xBF};
  if (b >= 0xF1 && b <= 0xF3) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};
  return {0, 0, 0};
}

bool is_continuation(uint8_t b) { return (b & 0xC0) == 0x80; }

// Number of bytes of the sequence at pos that are valid so far (a prefix of a valid sequence), capped at
// the sequence length; 0 if the lead byte itself is invalid.
size_t valid_prefix(std::string_view s, size_t pos, int* full_length) {
  const LeadInfo info = lead_info(uint8_t(s[pos]));
  *full_length = info.length;
  if (info.length <= 1) return size_t(info.length);
  size_t n = 1;
  for (; n < size_t(info.length) && pos + n < s.size(); ++n) {
    const uint8_t b = uint8_t(s[pos + n]);
    const bool ok = n == 1 ? (b >= info.lo && b <= info.hi) : is_continuation(b);
    if (!ok) break;
  }
  return n;
}

}  // namespace

size_t sequence_length(std::string_view s, size_t pos) {
  int full = 0;
  const size_t n = valid_prefix(s, pos, &full);
  return full > 0 && n == size_t(full) ? n : 0;
}

size_t find_invalid(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    // Fast path over ASCII.
    if (uint8_t(s[pos]) < 0x80) {
      ++pos;
      continue;
    }
    const size_t n = sequence_length(s, pos);
    if (n == 0) return pos;
    pos += n;
  }
  return std::string_view::npos;
}

void require_valid(std::string_view s, std::string_view what) {
  const size_t bad = find_invalid(s);
  if (bad != std::string_view::npos)
    fail("{}: invalid UTF-8 at byte offset {} (byte 0x{:02X})", what, bad, uint8_t(s[bad]));
}

void append_lossy(std::string_view bytes, std::string& out) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  size_t pos = 0;
  while (pos < bytes.size()) {
    int full = 0;
    const size_t n = valid_prefix(bytes, pos, &full);
    if (full > 0 && n == size_t(full)) {
      out.append(bytes.substr(pos, n));
      pos += n;
    } else {
      out.append(kReplacement);
      pos += n == 0 ? 1 : n;  // the maximal invalid subpart is the valid prefix seen so far
    }
  }
}

size_t incomplete_tail(std::string_view bytes) {
  const size_t size = bytes.size();
  for (size_t back = 1; back <= 3 && back <= size; ++back) {
    const size_t pos = size - back;
    if (is_continuation(uint8_t(bytes[pos]))) continue;
    int full = 0;
    const size_t n = valid_prefix(bytes, pos, &full);
    return (full > 1 && n == back && back < size_t(full)) ? back : 0;
  }
  return 0;
}

void append_code_point(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(char(cp));
  } else if (cp < 0x800) {
    out.push_back(char(0xC0 | (cp >> 6)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(char(0xE0 | (cp >> 12)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (cp >> 18)));
    out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  }
}

uint32_t next_code_point(std::string_view s, size_t& pos) {
  const uint8_t b = uint8_t(s[pos]);
  const size_t n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
  uint32_t cp = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
  for (size_t i = 1; i < n; ++i) cp = (cp << 6) | (uint8_t(s[pos + i]) & 0x3F);
  pos += n;
  return cp;
}

}  // namespace whale::utf8
