// Internal to the recognizer (recognizer.cc: threads and containers; recognizer_scalars.cc: strings, numbers,
// literals): what Frame::phase means for each kind of frame, and small helpers they share.
#pragma once

#include <cstdint>

#include "grammar/recognizer.h"

namespace whale::grammar::detail {

// Phases per frame kind.
enum DocumentPhase : uint8_t { kDocBefore, kDocValue, kDocDone };
enum ObjectPhase : uint8_t {
  kObjOpen,        // after '{': a key or '}'
  kObjKey,         // inside a key; b: node of the key trie (kNone: spells no listed key)
  kObjKeyEscape,   // after a backslash in a key
  kObjAfterKey,    // b: the property (or kAdditionalKey); ':' next
  kObjAfterColon,  // the value next
  kObjValue,       // the value is open above
  kObjAfterValue,  // ',' or '}'
  kObjAfterComma,  // a key next
};
enum ArrayPhase : uint8_t { kArrOpen, kArrValue, kArrAfterValue, kArrAfterComma };
enum StringPhase : uint8_t {
  kStrBody,
  kStrEscape,
  kStrHex1,  // \u and its 4 hex digits (b accumulates the code unit)
  kStrHex2,
  kStrHex3,
  kStrHex4,
  kStrLowBackslash,  // a high surrogate was escaped: "\uDC00".."\uDFFF" must follow
  kStrLowU,
  kStrLow1,
  kStrLow2,
  kStrLow3,
  kStrLow4,
};
enum IntegerPhase : uint8_t { kIntStart, kIntMinus, kIntZero, kIntPositive, kIntNegative };
enum NumberPhase : uint8_t {
  kNumStart,
  kNumMinus,
  kNumZero,
  kNumInt,
  kNumDot,
  kNumFrac,
  kNumExp,
  kNumExpSign,
  kNumExpDigits
};

inline constexpr uint32_t kNoKey = SmallTrie::kNone;
inline constexpr uint32_t kAdditionalKey = UINT32_MAX - 1;

inline bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

inline int hex_value(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Integers: the digits' value lives in a (low half) and b (high half).
inline uint64_t magnitude(const Frame& f) { return uint64_t(f.a) | uint64_t(f.b) << 32; }

inline void set_magnitude(Frame& f, uint64_t m) {
  f.a = uint32_t(m);
  f.b = uint32_t(m >> 32);
}

}  // namespace whale::grammar::detail
