#include "grammar/integer_range.h"

#include <algorithm>

namespace whale::grammar {
namespace {

using u128 = unsigned __int128;
constexpr u128 kInfinite = u128(1) << 100;  // above every magnitude the digits cap allows to matter

// The magnitudes allowed for one sign, [low, high] (high = kInfinite without a bound); empty when low > high.
struct MagnitudeRange {
  u128 low, high;
};

MagnitudeRange magnitudes(const IntegerSpec& s, bool negative) {
  if (!negative) {  // value = magnitude >= 0
    if (s.maximum && *s.maximum < 0) return {1, 0};
    return {u128(std::max<int64_t>(s.minimum.value_or(0), 0)), s.maximum ? u128(*s.maximum) : kInfinite};
  }
  // value = -magnitude <= -1
  if (s.minimum && *s.minimum > -1) return {1, 0};
  return {u128(std::max<int64_t>(s.maximum ? -*s.maximum : 1, 1)), s.minimum ? u128(-*s.minimum) : kInfinite};
}

}  // namespace

bool negative_possible(const IntegerSpec& spec) {
  const MagnitudeRange r = magnitudes(spec, true);
  return r.low <= r.high;
}

bool integer_viable(const IntegerSpec& spec, const IntegerPrefix& p) {
  const MagnitudeRange r = magnitudes(spec, p.negative);
  if (r.low > r.high) return false;
  if (p.digits == 0) return std::max<u128>(r.low, p.negative ? 1 : 0) <= r.high;
  if (p.magnitude == 0) return r.low == 0;  // "0" takes no more digits
  if (p.magnitude >= kSaturatedMagnitude) return r.high == kInfinite;
  // j more digits spell the magnitudes [v·10^j, (v+1)·10^j - 1]: does one of these intervals meet the range?
  u128 low = p.magnitude, high = p.magnitude;
  for (uint32_t digits = p.digits; digits <= uint32_t(kMaxNumberDigits); ++digits) {
    if (low > r.high) return false;
    if (high >= r.low) return true;
    low = std::min<u128>(low * 10, kInfinite);
    high = std::min<u128>(high * 10 + 9, kInfinite);
  }
  return false;
}

bool integer_complete(const IntegerSpec& spec, const IntegerPrefix& p) {
  if (p.digits == 0) return false;
  const MagnitudeRange r = magnitudes(spec, p.negative);
  const u128 m = p.magnitude >= kSaturatedMagnitude ? kInfinite - 1 : u128(p.magnitude);
  return r.low <= m && m <= r.high;
}

}  // namespace whale::grammar
