#include "tokenizer/jinja/json_dump.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "tokenizer/jinja/text.h"

namespace whale::jinja {
namespace {

std::string quote(const std::string& s, bool ensure_ascii) {
  std::string out = "\"";
  for (size_t i = 0, end; i < s.size(); i = end) {
    end = utf8_char_end(s, i);
    const std::string_view ch = std::string_view(s).substr(i, end - i);
    const uint32_t cp = utf8_decode(ch);
    switch (cp) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      default:
        break;
    }
    if (cp < 0x20 || (ensure_ascii && cp >= 0x7f)) {
      if (cp >= 0x10000) {  // UTF-16 surrogate pair
        uint32_t v = cp - 0x10000;
        out += fmt::format("\\u{:04x}\\u{:04x}", 0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff));
      } else {
        out += fmt::format("\\u{:04x}", cp);
      }
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

void dump(const Value& v, const JsonStyle& style, int level, std::string& out) {
  if (level > 2 * kMaxValueDepth) fail("tojson: value nested deeper than {} levels", 2 * kMaxValueDepth);
  check_string_size(out.size(), style.max_bytes);
  auto newline = [&](int lvl) {
    out += '\n';
    for (int i = 0; i < lvl; ++i) out += *style.indent;
  };
  switch (v.kind()) {
    case Value::Kind::kNone:
      out += "null";
      return;
    case Value::Kind::kBool:
      out += v.as_bool() ? "true" : "false";
      return;
    case Value::Kind::kInt:
      out += std::to_string(v.as_int());
      return;
    case Value::Kind::kFloat: {
      double f = v.as_float();
      out += std::isnan(f) ? "NaN" : std::isinf(f) ? (f < 0 ? "-Infinity" : "Infinity") : format_float(f);
      return;
    }
    case Value::Kind::kString:
      out += quote(v.as_string(), style.ensure_ascii);
      return;
    case Value::Kind::kList: {
      const List& items = v.as_list();
      if (items.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += style.item_separator;
        if (style.indent) newline(level + 1);
        dump(items[i], style, level + 1, out);
      }
      if (style.indent) newline(level);
      out += ']';
      return;
    }
    case Value::Kind::kDict: {
      auto items = v.as_dict().items;
      if (items.empty()) {
        out += "{}";
        return;
      }
      if (style.sort_keys)
        std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      out += '{';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += style.item_separator;
        if (style.indent) newline(level + 1);
        out += quote(items[i].first, style.ensure_ascii) + style.key_separator;
        dump(items[i].second, style, level + 1, out);
      }
      if (style.indent) newline(level);
      out += '}';
      return;
    }
    default:
      fail("tojson: object of type '{}' is not JSON serializable", type_name(v));
  }
}

}  // namespace

std::string json_dumps(const Value& v, const JsonStyle& style) {
  std::string out;
  dump(v, style, 0, out);
  check_string_size(out.size(), style.max_bytes);
  return out;
}

}  // namespace whale::jinja
