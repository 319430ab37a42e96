// A tiny safe evaluator for Countdown answers: integers, + − × ÷ (ASCII * / or UTF-8 × ÷) and parentheses,
// evaluated in exact rational arithmetic with overflow checks. No unary minus, no decimals, bounded length,
// literal size and nesting depth, so adversarial input can neither crash nor hang it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace whale::rl {

struct Rational {
  int64_t num = 0;
  int64_t den = 1;  // > 0, gcd(num, den) = 1
  bool operator==(const Rational&) const = default;
  std::string str() const;  // "7" or "-7/3"
};

struct ExpressionValue {
  bool parsed = false;         // false: syntax error (not an expression at all)
  std::string error;           // syntax or evaluation error (division by zero, overflow, literal too long)
  Rational value;              // valid when parsed and error is empty
  std::vector<int64_t> numbers;  // literals in order of appearance
};

inline constexpr size_t kMaxExpressionChars = 512;
inline constexpr int kMaxExpressionDepth = 32;
inline constexpr int kMaxLiteralDigits = 9;

ExpressionValue evaluate_expression(std::string_view text);

}  // namespace whale::rl
