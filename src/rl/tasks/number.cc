#include "rl/tasks/number.h"

#include <limits>

namespace whale::rl {

namespace {
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }  // ASCII only, independent of the locale
}  // namespace

std::string_view trim_ascii(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

std::optional<std::string> canonical_integer(std::string_view text) {
  text = trim_ascii(text);
  bool negative = false;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  if (text.empty()) return std::nullopt;
  for (char c : text)
    if (!is_digit(c)) return std::nullopt;
  while (text.size() > 1 && text[0] == '0') text.remove_prefix(1);
  if (text == "0") negative = false;
  return (negative ? "-" : "") + std::string(text);
}

std::optional<int64_t> parse_int64(std::string_view text) {
  const std::optional<std::string> canon = canonical_integer(text);
  if (!canon) return std::nullopt;
  const bool negative = (*canon)[0] == '-';
  // Accumulate as a negative number: its range includes INT64_MIN.
  int64_t value = 0;
  for (char c : std::string_view(*canon).substr(negative ? 1 : 0)) {
    const int digit = c - '0';
    if (value < (std::numeric_limits<int64_t>::min() + digit) / 10) return std::nullopt;
    value = value * 10 - digit;
  }
  if (!negative) {
    if (value == std::numeric_limits<int64_t>::min()) return std::nullopt;
    value = -value;
  }
  return value;
}

Verification verify_integer(std::string_view answer, std::string_view truth) {
  std::optional<std::string> canon = canonical_integer(answer);
  if (!canon) return {Verdict::kNoAnswer, "not an integer", std::nullopt};
  if (*canon != truth) return {Verdict::kWrong, "expected " + std::string(truth) + ", got " + *canon, canon};
  return {Verdict::kCorrect, "", canon};
}

}  // namespace whale::rl
