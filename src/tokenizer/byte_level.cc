#include "tokenizer/byte_level.h"

#include <array>

#include "tokenizer/utf8.h"

namespace whale::byte_level {
namespace {

bool maps_to_itself(int b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE; }

struct Tables {
  std::array<std::string, 256> chars;      // byte → UTF-8 of its character
  std::array<int16_t, 512> byte_of_cp{};   // code point (< 512) → byte, or -1
  Tables() {
    byte_of_cp.fill(-1);
    uint32_t next_shifted = 256;
    for (int b = 0; b < 256; ++b) {
      const uint32_t cp = maps_to_itself(b) ? uint32_t(b) : next_shifted++;
      utf8::append_code_point(cp, chars[b]);
      byte_of_cp[cp] = int16_t(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

std::string_view char_of(uint8_t b) { return tables().chars[b]; }

std::string encode(std::string_view bytes) {
  const Tables& t = tables();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += t.chars[uint8_t(c)];
  return out;
}

bool decode(std::string_view text, std::string& out) {
  const Tables& t = tables();
  const size_t start = out.size();
  size_t pos = 0;
  while (pos < text.size()) {
    if (utf8::sequence_length(text, pos) == 0) {
      out.resize(start);
      return false;
    }
    const uint32_t cp = utf8::next_code_point(text, pos);
    if (cp >= t.byte_of_cp.size() || t.byte_of_cp[cp] < 0) {
      out.resize(start);
      return false;
    }
    out.push_back(char(t.byte_of_cp[cp]));
  }
  return true;
}

}  // namespace whale::byte_level
