#include "config/toml_section.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <vector>

namespace whale {
namespace {

namespace fs = std::filesystem;

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

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

}  // namespace

std::string closest_match(std::string_view word, TomlKeys candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;  // accept up to max(2, len/3) edits
  for (std::string_view c : candidates) {
    // A prefix either way ("optimizer" for "optim") counts as one edit.
    const bool prefix = word.substr(0, c.size()) == c || c.substr(0, word.size()) == word;
    const size_t d = prefix && !word.empty() ? 1 : edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(c);
    }
  }
  return best;
}

std::string read_config_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail("{}: cannot open the config file", file.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

toml::table parse_toml_sections(std::string_view toml_text, const fs::path& source, TomlKeys sections) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source.string());
  } catch (const toml::parse_error& e) {
    fail("{}:{}:{}: TOML syntax error: {}", source.string(), e.source().begin.line, e.source().begin.column,
         e.description());
  }
  std::string list;
  for (std::string_view s : sections) list += fmt::format("{}[{}]", list.empty() ? "" : " ", s);
  for (auto&& [key, node] : root) {
    const std::string_view k = key.str();
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
    const std::string_view k = key.str();
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
  return n->as_string()->get();
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
