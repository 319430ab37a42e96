// Integers between optional bounds, typed digit by digit: whether the digits so far can still become an
// integer in range (so the recognizer never enters a dead end), and whether they already are one. Canonical
// forms only: no leading zeros, no "-0".
#pragma once

#include <cstdint>

#include "grammar/json_grammar.h"

namespace whale::grammar {

// Bounds must lie within ±kMaxIntegerBound (the compiler refuses others): exact in a double, as a validator
// compares them.
inline constexpr int64_t kMaxIntegerBound = int64_t(1) << 53;
// Digit values saturate here (past every bound); kMaxNumberDigits still caps the digits.
inline constexpr uint64_t kSaturatedMagnitude = 10'000'000'000'000'000'000ull;

struct IntegerPrefix {
  bool negative = false;   // a '-' was typed
  uint32_t digits = 0;     // digits typed
  uint64_t magnitude = 0;  // their value, saturating at kSaturatedMagnitude
};

// Whether a '-' may start a value of the spec.
bool negative_possible(const IntegerSpec& spec);
// Whether some integer in range is spelled by `prefix` followed by zero or more digits.
bool integer_viable(const IntegerSpec& spec, const IntegerPrefix& prefix);
// Whether `prefix` (at least one digit) is itself an integer in range.
bool integer_complete(const IntegerSpec& spec, const IntegerPrefix& prefix);

}  // namespace whale::grammar
