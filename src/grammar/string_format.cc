#include "grammar/string_format.h"

namespace whale::grammar {
namespace {

bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
bool is_hex(uint8_t c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_alnum(uint8_t c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_atom(uint8_t c) { return is_alnum(c) || c == '_' || c == '%' || c == '+' || c == '-'; }

int days_in_month(uint32_t year, uint32_t month) {
  static constexpr int kDays[] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
  return month == 2 && leap ? 29 : kDays[month];
}

// date: YYYY-MM-DD. data: year in bits 0..13, month in 14..17, the first digit of the month (20) and of the
// day (18..19) while the second is awaited.
constexpr uint32_t kDateBytes = 10;

bool date_step(FormatState& s, uint8_t c) {
  const uint32_t year = s.data & 0x3FFF, month = (s.data >> 14) & 0xF;
  const uint32_t d = uint32_t(c - '0');
  switch (s.pos) {
    case 4:
    case 7:
      if (c != '-') return false;
      break;
    case 5:  // month tens: 0 or 1
      if (c != '0' && c != '1') return false;
      s.data |= d << 20;
      break;
    case 6: {
      if (!is_digit(c)) return false;
      const uint32_t m = ((s.data >> 20) & 1) * 10 + d;
      if (m < 1 || m > 12) return false;
      s.data = (s.data & ~(uint32_t(1) << 20)) | (m << 14);
      break;
    }
    case 8:  // day tens: 30 and 31 exist in every month but February
      if (c < '0' || c > '3' || (d == 3 && month == 2)) return false;
      s.data |= d << 18;
      break;
    case 9: {
      if (!is_digit(c)) return false;
      const uint32_t day = ((s.data >> 18) & 3) * 10 + d;
      if (day < 1 || int(day) > days_in_month(year, month)) return false;
      break;
    }
    case kDateBytes:
      return false;
    default:  // 0..3: the year
      if (!is_digit(c)) return false;
      s.data = (s.data & ~uint32_t(0x3FFF)) | (year * 10 + d);
  }
  ++s.pos;
  return true;
}

// time: hh:mm:ss, then [.fraction], then Z or ±hh:mm. pos 0..7 the fixed part; 8 after the seconds; 9 after
// the point; 10 in the fraction (data: its digits); 11..15 the offset (data: its first digit); 16 done.
constexpr uint32_t kTimeDone = 16;
constexpr uint32_t kMaxFraction = 9;

bool time_step(FormatState& s, uint8_t c) {
  const uint32_t d = uint32_t(c - '0');
  uint32_t next = s.pos + 1;
  switch (s.pos) {
    case 0:
    case 11:  // hour tens
      if (c < '0' || c > '2') return false;
      s.data = d;
      break;
    case 1:
    case 12:  // hour: 00..23
      if (!is_digit(c) || (s.data == 2 && d > 3)) return false;
      break;
    case 2:
    case 5:
    case 13:
      if (c != ':') return false;
      break;
    case 3:
    case 6:
    case 14:  // minute and second tens
      if (c < '0' || c > '5') return false;
      break;
    case 4:
    case 7:
    case 15:
      if (!is_digit(c)) return false;
      if (s.pos == 15) next = kTimeDone;
      break;
    case 9:  // the first digit of the fraction
      if (!is_digit(c)) return false;
      s.data = 1;
      break;
    case 8:
    case 10:
      if (s.pos == 8 && c == '.') break;
      if (s.pos == 10 && is_digit(c)) {
        if (s.data >= kMaxFraction) return false;
        ++s.data;
        next = 10;
        break;
      }
      if (c == 'Z')
        next = kTimeDone;
      else if (c == '+' || c == '-')
        next = 11;
      else
        return false;
      break;
    default:
      return false;
  }
  s.pos = next;
  return true;
}

// uuid: 8-4-4-4-12 hexadecimal digits.
constexpr uint32_t kUuidBytes = 36;

bool uuid_step(FormatState& s, uint8_t c) {
  if (s.pos >= kUuidBytes) return false;
  const bool dash = s.pos == 8 || s.pos == 13 || s.pos == 18 || s.pos == 23;
  if (dash ? c != '-' : !is_hex(c)) return false;
  ++s.pos;
  return true;
}

// email: pos is the phase; data counts the dots of the domain.
enum EmailPhase : uint32_t { kLocalStart, kLocal, kLocalDot, kLabelStart, kLabel, kLabelHyphen };

bool email_step(FormatState& s, uint8_t c) {
  switch (s.pos) {
    case kLocalStart:
    case kLocalDot:
      if (!is_atom(c)) return false;
      s.pos = kLocal;
      return true;
    case kLocal:
      if (c == '.')
        s.pos = kLocalDot;
      else if (c == '@')
        s.pos = kLabelStart;
      else if (!is_atom(c))
        return false;
      return true;
    case kLabelStart:
      if (!is_alnum(c)) return false;
      s.pos = kLabel;
      return true;
    case kLabel:
    case kLabelHyphen:
      if (is_alnum(c))
        s.pos = kLabel;
      else if (c == '-')
        s.pos = kLabelHyphen;
      else if (c == '.' && s.pos == kLabel)
        s.pos = kLabelStart, ++s.data;
      else
        return false;
      return true;
    default:
      return false;
  }
}

}  // namespace

std::optional<StringFormat> format_from_name(std::string_view name) {
  if (name == "date") return StringFormat::kDate;
  if (name == "time") return StringFormat::kTime;
  if (name == "date-time") return StringFormat::kDateTime;
  if (name == "uuid") return StringFormat::kUuid;
  if (name == "email") return StringFormat::kEmail;
  return std::nullopt;
}

bool format_step(StringFormat f, FormatState& s, uint8_t c) {
  switch (f) {
    case StringFormat::kDate:
      return date_step(s, c);
    case StringFormat::kTime:
      return time_step(s, c);
    case StringFormat::kDateTime: {
      if (s.pos < kDateBytes) return date_step(s, c);
      if (s.pos == kDateBytes) {
        if (c != 'T') return false;
        s = {kDateBytes + 1, 0};
        return true;
      }
      FormatState t{s.pos - kDateBytes - 1, s.data};
      if (!time_step(t, c)) return false;
      s = {t.pos + kDateBytes + 1, t.data};
      return true;
    }
    case StringFormat::kUuid:
      return uuid_step(s, c);
    case StringFormat::kEmail:
      return email_step(s, c);
    case StringFormat::kNone:
      return false;
  }
  return false;
}

bool format_complete(StringFormat f, const FormatState& s) {
  switch (f) {
    case StringFormat::kDate:
      return s.pos == kDateBytes;
    case StringFormat::kTime:
      return s.pos == kTimeDone;
    case StringFormat::kDateTime:
      return s.pos == kDateBytes + 1 + kTimeDone;
    case StringFormat::kUuid:
      return s.pos == kUuidBytes;
    case StringFormat::kEmail:
      return s.pos == kLabel && s.data >= 1;
    case StringFormat::kNone:
      return false;
  }
  return false;
}

}  // namespace whale::grammar
