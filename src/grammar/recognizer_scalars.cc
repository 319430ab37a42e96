// The steps of the frames that hold one scalar: strings (JSON escapes, surrogate pairs, UTF-8, lengths in code
// points), formatted strings, integers within bounds, numbers and enum/const literals. A step either takes the
// byte, closes the value with it (a closing quote), ends the value before it (numbers and literals have no
// closing byte: the container reads it next), or rejects it.
#include "grammar/integer_range.h"
#include "grammar/recognizer_phases.h"
#include "grammar/string_format.h"
#include "grammar/utf8_dfa.h"

namespace whale::grammar {

using namespace detail;

bool Recognizer::scalar_complete(const Frame& f) const {
  const ValueNode& n = g_.nodes[f.node];
  switch (f.kind) {
    case FrameKind::kInteger:
      return f.phase >= kIntZero &&
             integer_complete(g_.integers[n.spec],
                              {.negative = f.phase == kIntNegative, .digits = f.aux, .magnitude = magnitude(f)});
    case FrameKind::kNumber:
      return f.phase == kNumZero || f.phase == kNumInt || f.phase == kNumFrac || f.phase == kNumExpDigits;
    case FrameKind::kLiteral:
      return g_.literals[n.spec].trie.nodes[f.a].value >= 0;
    default:
      return false;
  }
}

Recognizer::Step Recognizer::string_step(Frame& f, uint8_t c) const {
  const StringSpec& s = g_.strings[g_.nodes[f.node].spec];
  switch (f.phase) {
    case kStrBody:
      if (c == '"') return f.aux == 0 && f.a >= s.min_length ? Step::kClosed : Step::kReject;
      if (c == '\\') {  // an escape is one more character
        if (f.aux != 0 || f.a >= s.max_length) return Step::kReject;
        ++f.a;
        f.phase = kStrEscape;
        return Step::kTaken;
      }
      if (c < 0x20) return Step::kReject;
      if (f.aux == 0) {  // a character starts
        if (f.a >= s.max_length) return Step::kReject;
        ++f.a;
      }
      f.aux = utf8_next(f.aux, c);
      return f.aux == kUtf8Reject ? Step::kReject : Step::kTaken;
    case kStrEscape:
      switch (c) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
          f.phase = kStrBody;
          return Step::kTaken;
        case 'u':
          f.phase = kStrHex1;
          f.b = 0;
          return Step::kTaken;
        default:
          return Step::kReject;
      }
    case kStrHex1:
    case kStrHex2:
    case kStrHex3:
    case kStrHex4: {
      const int h = hex_value(c);
      if (h < 0) return Step::kReject;
      f.b = f.b * 16 + uint32_t(h);
      // "\uDC".."\uDF" can only be a low surrogate, which needs a high one before it.
      if (f.phase == kStrHex2 && f.b >= 0xDC && f.b <= 0xDF) return Step::kReject;
      if (f.phase != kStrHex4)
        ++f.phase;
      else
        f.phase = f.b >= 0xD800 && f.b <= 0xDBFF ? kStrLowBackslash : kStrBody;
      return Step::kTaken;
    }
    case kStrLowBackslash:
      return c == '\\' ? (f.phase = kStrLowU, Step::kTaken) : Step::kReject;
    case kStrLowU:
      return c == 'u' ? (f.phase = kStrLow1, Step::kTaken) : Step::kReject;
    case kStrLow1:
      return c == 'd' || c == 'D' ? (f.phase = kStrLow2, Step::kTaken) : Step::kReject;
    case kStrLow2:
      return hex_value(c) >= 0xC ? (f.phase = kStrLow3, Step::kTaken) : Step::kReject;
    case kStrLow3:
    case kStrLow4:
      if (hex_value(c) < 0) return Step::kReject;
      f.phase = f.phase == kStrLow3 ? kStrLow4 : kStrBody;
      return Step::kTaken;
    default:
      return Step::kReject;
  }
}

Recognizer::Step Recognizer::format_step(Frame& f, uint8_t c) const {
  const StringFormat format = g_.strings[g_.nodes[f.node].spec].format;
  FormatState s{f.a, f.b};
  if (c == '"') return format_complete(format, s) ? Step::kClosed : Step::kReject;
  if (!grammar::format_step(format, s, c)) return Step::kReject;
  f.a = s.pos;
  f.b = s.data;
  return Step::kTaken;
}

Recognizer::Step Recognizer::integer_step(Frame& f, uint8_t c) const {
  const IntegerSpec& spec = g_.integers[g_.nodes[f.node].spec];
  IntegerPrefix p{
      .negative = f.phase == kIntMinus || f.phase == kIntNegative, .digits = f.aux, .magnitude = magnitude(f)};
  switch (f.phase) {
    case kIntStart:
      if (c == '-') {
        if (!negative_possible(spec)) return Step::kReject;
        f.phase = kIntMinus;
        return Step::kTaken;
      }
      if (!is_digit(c)) return Step::kReject;
      break;
    case kIntMinus:
      if (!is_digit(c) || c == '0') return Step::kReject;  // no "-0", no leading zeros
      break;
    case kIntZero:
      return integer_complete(spec, p) ? Step::kEnded : Step::kReject;
    default:  // digits
      if (!is_digit(c)) return integer_complete(spec, p) ? Step::kEnded : Step::kReject;
      if (p.digits >= uint32_t(kMaxNumberDigits)) return Step::kReject;
  }
  ++p.digits;
  const uint64_t d = uint64_t(c - '0');
  p.magnitude = p.magnitude >= kSaturatedMagnitude / 10 ? kSaturatedMagnitude : p.magnitude * 10 + d;
  if (!integer_viable(spec, p)) return Step::kReject;
  f.phase = p.magnitude == 0 ? kIntZero : p.negative ? kIntNegative : kIntPositive;
  f.aux = uint8_t(p.digits);
  set_magnitude(f, p.magnitude);
  return Step::kTaken;
}

Recognizer::Step Recognizer::number_step(Frame& f, uint8_t c) const {
  const bool digit = is_digit(c), exponent = c == 'e' || c == 'E';
  auto go = [&](NumberPhase phase, int digits) {
    f.phase = phase;
    f.aux = uint8_t(digits);
    return Step::kTaken;
  };
  switch (f.phase) {
    case kNumStart:
      if (c == '-') return go(kNumMinus, 0);
      [[fallthrough]];
    case kNumMinus:
      if (c == '0') return go(kNumZero, 1);
      return digit ? go(kNumInt, 1) : Step::kReject;
    case kNumZero:
    case kNumInt:
      if (digit) return f.phase == kNumInt && f.aux < kMaxNumberDigits ? go(kNumInt, f.aux + 1) : Step::kReject;
      if (c == '.') return go(kNumDot, 0);
      if (exponent) return go(kNumExp, 0);
      return Step::kEnded;
    case kNumDot:
      return digit ? go(kNumFrac, 1) : Step::kReject;
    case kNumFrac:
      if (digit) return f.aux < kMaxFractionDigits ? go(kNumFrac, f.aux + 1) : Step::kReject;
      if (exponent) return go(kNumExp, 0);
      return Step::kEnded;
    case kNumExp:
      if (c == '+' || c == '-') return go(kNumExpSign, 0);
      [[fallthrough]];
    case kNumExpSign:
      return digit ? go(kNumExpDigits, 1) : Step::kReject;
    case kNumExpDigits:
      if (digit) return f.aux < kMaxExponentDigits ? go(kNumExpDigits, f.aux + 1) : Step::kReject;
      return Step::kEnded;
    default:
      return Step::kReject;
  }
}

Recognizer::Step Recognizer::literal_step(Frame& f, uint8_t c) const {
  const SmallTrie& trie = g_.literals[g_.nodes[f.node].spec].trie;
  const uint32_t next = trie.child(f.a, c);
  if (next != SmallTrie::kNone) {
    f.a = next;
    return Step::kTaken;
  }
  return trie.nodes[f.a].value >= 0 ? Step::kEnded : Step::kReject;
}

}  // namespace whale::grammar
