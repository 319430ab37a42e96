#include "config/toml_section.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "core/regular_file.h"
#include "tokenizer/utf8.h"

namespace whale {
namespace {

namespace fs = std::filesystem;

std::string did_you_mean(std::string_view word, TomlKeys candidates) {
  const std::string best = closest_match(word, candidates);
  return best.empty() ? "" : fmt::format(" (did you mean '{}'?)", best);
}

const char* type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    default: return "a date/time";
  }
}

// toml++ 3.x reaches __builtin_unreachable() when it classifies some non-ASCII code points: outside strings,
// and even inside valid multi-line strings after a line-ending backslash (found by fuzz/train_config; upstream
// marzer/tomlplusplus#295). So it never sees any: each non-ASCII code point becomes the ASCII marker
// "~U+XXXXXX~" before parsing (a valid string character, and invalid in a bare key or value, which toml++
// then rejects cleanly), and string values and keys are restored afterwards.
constexpr std::string_view kMarker = "~U+";

std::string hide_non_ascii(std::string_view text, const fs::path& source) {
  auto line_of = [&](size_t pos) { return 1 + std::count(text.begin(), text.begin() + std::ptrdiff_t(pos), '\n'); };
  if (const size_t bad = utf8::find_invalid(text); bad != std::string_view::npos)
    fail("{}:{}: the config file is not valid UTF-8", source.string(), line_of(bad));
  if (const size_t at = text.find(kMarker); at != std::string_view::npos)
    fail("{}:{}: the character sequence \"{}\" is reserved in config files", source.string(), line_of(at), kMarker);
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      out += text[pos++];
    } else {
      out += fmt::format("{}{:06X}~", kMarker, utf8::next_code_point(text, pos));
    }
  }
  return out;
}

// The code point of a well-formed marker "~U+XXXXXX~" at s[at]. (A string can spell one through the escape
// \u007E for "~"; it reads as that code point, the one way this differs from plain TOML.)
std::optional<uint32_t> marker_at(std::string_view s, size_t at) {
  const size_t hex = at + kMarker.size();
  if (s.substr(at, kMarker.size()) != kMarker || hex + 7 > s.size() || s[hex + 6] != '~') return std::nullopt;
  uint32_t cp = 0;
  for (char c : s.substr(hex, 6)) {
    const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (digit < 0) return std::nullopt;
    cp = cp * 16 + uint32_t(digit);
  }
  if (cp < 0x80 || cp >= 0x110000 || (cp >= 0xD800 && cp < 0xE000)) return std::nullopt;
  return cp;
}

std::string restore_non_ascii(std::string_view s) {
  std::string out;
  for (size_t pos = 0; pos < s.size();) {
    if (const std::optional<uint32_t> cp = marker_at(s, pos)) {
      utf8::append_code_point(*cp, out);
      pos += kMarker.size() + 7;
    } else {
      out += s[pos++];
    }
  }
  return out;
}

}  // namespace

std::string read_config_text(const fs::path& file) { return read_regular_file(file); }

toml::table parse_toml_sections(std::string_view toml_text, const fs::path& source, TomlKeys sections) {
  toml::table root;
  const std::string ascii_text = hide_non_ascii(toml_text, source);
  try {
    root = toml::parse(ascii_text, source.string());
  } catch (const toml::parse_error& e) {
    fail("{}:{}:{}: TOML syntax error: {}", source.string(), e.source().begin.line, e.source().begin.column,
         restore_non_ascii(e.description()));
  }
  std::string list;
  for (std::string_view s : sections) list += fmt::format("{}[{}]", list.empty() ? "" : " ", s);
  for (auto&& [key, node] : root) {
    const std::string k = restore_non_ascii(key.str());
    if (!node.is_table())
      fail("{}:{}: key '{}' is outside any section (sections: {})", source.string(), key.source().begin.line, k, list);
    if (std::find(sections.begin(), sections.end(), k) == sections.end())
      fail("{}:{}: unknown section [{}]{}", source.string(), key.source().begin.line, k, did_you_mean(k, sections));
  }
  return root;
}

TomlSection::TomlSection(const toml::table* table, std::string name, const fs::path& file, TomlKeys known)
    : table_(table), name_(std::move(name)), file_(file) {
  if (!table_) return;
  for (auto&& [key, node] : *table_) {
    const std::string k = restore_non_ascii(key.str());
    if (std::find(known.begin(), known.end(), k) == known.end())
      fail("{}:{}: unknown key '{}' in [{}]{}", file_.string(), key.source().begin.line, k, name_,
           did_you_mean(k, known));
  }
}

int64_t TomlSection::integer(std::string_view key, int64_t fallback, int64_t lo, int64_t hi) const {
  const toml::node* n = node(key);
  if (!n) return fallback;
  if (!n->is_integer()) type_error(*n, key, "an integer");
  const int64_t v = n->as_integer()->get();
  if (v < lo || v > hi) range_error(key, fmt::format("{}", v), fmt::format("[{}, {}]", lo, hi));
  return v;
}

double TomlSection::number(std::string_view key, double fallback, double lo, double hi, bool lo_open,
                           bool hi_open) const {
  const toml::node* n = node(key);
  if (!n) return fallback;
  double v = 0;
  if (n->is_integer()) v = double(n->as_integer()->get());
  else if (n->is_floating_point()) v = n->as_floating_point()->get();
  else type_error(*n, key, "a number");
  const bool ok = std::isfinite(v) && (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
  if (!ok)
    range_error(key, fmt::format("{}", v), fmt::format("{}{}, {}{}", lo_open ? "(" : "[", lo, hi, hi_open ? ")" : "]"));
  return v;
}

bool TomlSection::boolean(std::string_view key, bool fallback) const {
  const toml::node* n = node(key);
  if (!n) return fallback;
  if (!n->is_boolean()) type_error(*n, key, "a boolean (true or false)");
  return n->as_boolean()->get();
}

std::string TomlSection::string(std::string_view key, const std::string& fallback) const {
  const toml::node* n = node(key);
  if (!n) return fallback;
  if (!n->is_string()) type_error(*n, key, "a string");
  return restore_non_ascii(n->as_string()->get());
}

fs::path TomlSection::path(std::string_view key) const {
  const std::string s = string(key, "");
  if (has(key) && s.empty()) fail("{}: [{}] {} must not be empty", where(key), name_, key);
  if (s.empty()) return {};
  const fs::path p(s);
  return p.is_absolute() ? p : file_.parent_path() / p;
}

bool TomlSection::exactly_one(std::string_view a, std::string_view b) const {
  if (has(a) && has(b)) fail("{}: [{}] set either {} or {}, not both", where(b), name_, a, b);
  if (!has(a) && !has(b)) fail("{}: [{}] needs {} or {}", where(a), name_, a, b);
  return has(a);
}

std::string TomlSection::where(std::string_view key) const {
  const toml::node* n = node(key);
  return n ? fmt::format("{}:{}", file_.string(), n->source().begin.line) : file_.string();
}

void TomlSection::type_error(const toml::node& n, std::string_view key, const char* expected) const {
  fail("{}: [{}] {} must be {}, got {}", where(key), name_, key, expected, type_name(n));
}

void TomlSection::range_error(std::string_view key, const std::string& value, const std::string& range) const {
  fail("{}: [{}] {} = {} is out of range {}", where(key), name_, key, value, range);
}

}  // namespace whale
