// UTF-8 well-formedness as a byte automaton (RFC 3629: no overlong forms, no surrogates, nothing past
// U+10FFFF), for strings the recognizer reads one byte at a time and tokens that end inside a character.
// States: 0 between characters; 1..3 continuation bytes still expected; 4..7 the second byte of a sequence
// whose range is narrower (after E0: A0..BF, ED: 80..9F, F0: 90..BF, F4: 80..8F).
#pragma once

#include <array>
#include <cstdint>

namespace whale::grammar {

inline constexpr int kUtf8States = 8;
inline constexpr uint8_t kUtf8Reject = 0xFF;

namespace detail {

constexpr uint8_t utf8_transition(uint8_t state, uint8_t b) {
  const bool cont = b >= 0x80 && b <= 0xBF;
  switch (state) {
    case 0:
      if (b < 0x80) return 0;
      if (b >= 0xC2 && b <= 0xDF) return 1;
      if (b == 0xE0) return 4;
      if (b == 0xED) return 5;
      if (b >= 0xE1 && b <= 0xEF) return 2;
      if (b == 0xF0) return 6;
      if (b >= 0xF1 && b <= 0xF3) return 3;
      if (b == 0xF4) return 7;
      return kUtf8Reject;
    case 1:
      return cont ? 0 : kUtf8Reject;
    case 2:
      return cont ? 1 : kUtf8Reject;
    case 3:
      return cont ? 2 : kUtf8Reject;
    case 4:
      return b >= 0xA0 && b <= 0xBF ? 1 : kUtf8Reject;
    case 5:
      return b >= 0x80 && b <= 0x9F ? 1 : kUtf8Reject;
    case 6:
      return b >= 0x90 && b <= 0xBF ? 2 : kUtf8Reject;
    case 7:
      return b >= 0x80 && b <= 0x8F ? 2 : kUtf8Reject;
    default:
      return kUtf8Reject;
  }
}

constexpr std::array<std::array<uint8_t, 256>, kUtf8States> make_utf8_table() {
  std::array<std::array<uint8_t, 256>, kUtf8States> t{};
  for (int s = 0; s < kUtf8States; ++s)
    for (int b = 0; b < 256; ++b) t[size_t(s)][size_t(b)] = utf8_transition(uint8_t(s), uint8_t(b));
  return t;
}

inline constexpr auto kUtf8Table = make_utf8_table();

}  // namespace detail

// The state after byte b, or kUtf8Reject. A character starts at byte b when `state` is 0.
inline uint8_t utf8_next(uint8_t state, uint8_t b) { return detail::kUtf8Table[state][b]; }

}  // namespace whale::grammar
