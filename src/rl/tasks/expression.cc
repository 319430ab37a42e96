#include "rl/tasks/expression.h"

#include <fmt/format.h>

#include <limits>
#include <numeric>
#include <optional>

namespace whale::rl {

std::string Rational::str() const { return den == 1 ? fmt::format("{}", num) : fmt::format("{}/{}", num, den); }

namespace {

using i128 = __int128;

// Reduces p/q (q ≠ 0) to lowest terms with a positive denominator; nullopt if it does not fit in int64.
std::optional<Rational> make_rational(i128 p, i128 q) {
  if (q < 0) p = -p, q = -q;
  i128 a = p < 0 ? -p : p, b = q;
  while (b != 0) a %= b, std::swap(a, b);  // a = gcd(|p|, q)
  if (a > 1) p /= a, q /= a;
  constexpr i128 lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
  if (p < lo || p > hi || q > hi) return std::nullopt;
  return Rational{int64_t(p), int64_t(q)};
}

// Recursive descent: expr := term (('+'|'-') term)*, term := factor (('*'|'/') factor)*,
// factor := integer | '(' expr ')'. The first evaluation error is recorded and parsing goes on, so a
// syntax error anywhere still classifies the whole text as unparsable.
class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  ExpressionValue run() {
    ExpressionValue out;
    if (s_.size() > kMaxExpressionChars) {
      out.error = fmt::format("expression longer than {} characters", kMaxExpressionChars);
      return out;
    }
    Rational v = expr(0);
    skip_space();
    if (syntax_.empty() && pos_ != s_.size()) syntax_ = fmt::format("unexpected '{}' at {}", s_[pos_], pos_);
    out.parsed = syntax_.empty();
    out.error = !syntax_.empty() ? syntax_ : eval_error_;
    out.value = v;
    out.numbers = std::move(numbers_);
    return out;
  }

 private:
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  bool eat(std::string_view token) {
    if (s_.substr(pos_, token.size()) != token) return false;
    pos_ += token.size();
    return true;
  }
  // Next operator among the given ones (each with its UTF-8 alias), or 0.
  char binary_op(bool additive) {
    skip_space();
    if (additive) return eat("+") ? '+' : eat("-") ? '-' : 0;
    return (eat("*") || eat("\xC3\x97")) ? '*' : (eat("/") || eat("\xC3\xB7")) ? '/' : 0;
  }
  void syntax(std::string message) {
    if (syntax_.empty()) syntax_ = std::move(message);
    pos_ = s_.size();  // stop consuming
  }
  void eval_error(std::string message) {
    if (eval_error_.empty()) eval_error_ = std::move(message);
  }

  Rational apply(Rational a, char op, Rational b) {
    const i128 an = a.num, ad = a.den, bn = b.num, bd = b.den;  // each product fits in 127 bits
    std::optional<Rational> r;
    switch (op) {
      case '+': r = make_rational(an * bd + bn * ad, ad * bd); break;
      case '-': r = make_rational(an * bd - bn * ad, ad * bd); break;
      case '*': r = make_rational(an * bn, ad * bd); break;
      default:
        if (bn == 0) {
          eval_error("division by zero");
          return {0, 1};
        }
        r = make_rational(an * bd, ad * bn);
    }
    if (!r) {
      eval_error("overflow");
      return {0, 1};
    }
    return *r;
  }

  Rational expr(int depth) {
    Rational v = term(depth);
    while (char op = binary_op(true)) v = apply(v, op, term(depth));
    return v;
  }
  Rational term(int depth) {
    Rational v = factor(depth);
    while (char op = binary_op(false)) v = apply(v, op, factor(depth));
    return v;
  }
  Rational factor(int depth) {
    skip_space();
    if (pos_ >= s_.size()) {
      syntax("unexpected end of expression");
      return {0, 1};
    }
    if (eat("(")) {
      if (depth + 1 > kMaxExpressionDepth) {
        syntax(fmt::format("parentheses nested deeper than {}", kMaxExpressionDepth));
        return {0, 1};
      }
      Rational v = expr(depth + 1);
      skip_space();
      if (!eat(")")) syntax(fmt::format("missing ')' at {}", pos_));
      return v;
    }
    const size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;  // ASCII digits only
    if (pos_ == start) {
      syntax(fmt::format("expected a number or '(' at {}", start));
      return {0, 1};
    }
    std::string_view digits = s_.substr(start, pos_ - start);
    while (digits.size() > 1 && digits[0] == '0') digits.remove_prefix(1);
    if (digits.size() > size_t(kMaxLiteralDigits)) {
      eval_error(fmt::format("number {}... has more than {} digits", digits.substr(0, 12), kMaxLiteralDigits));
      numbers_.push_back(-1);  // never one of the allowed numbers
      return {0, 1};
    }
    int64_t v = 0;
    for (char c : digits) v = v * 10 + (c - '0');
    numbers_.push_back(v);
    return {v, 1};
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::string syntax_, eval_error_;
  std::vector<int64_t> numbers_;
};

}  // namespace

ExpressionValue evaluate_expression(std::string_view text) { return Parser(text).run(); }

}  // namespace whale::rl
