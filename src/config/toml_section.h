// Typed, range-checked reading of TOML config files (toml++), shared by `whale train` and `whale rl`.
// Every error names the file, line and key; an unknown section or key is an error with a "did you mean".
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "core/closest_match.h"
#include "core/error.h"

namespace whale {

using TomlKeys = std::span<const std::string_view>;

// Parses TOML text and checks that every top-level key is one of `sections` (a table).
toml::table parse_toml_sections(std::string_view toml_text, const std::filesystem::path& source, TomlKeys sections);

// Reads a whole config file (whale::Error naming it when it cannot be opened).
std::string read_config_text(const std::filesystem::path& file);

// One [section]: values with defaults, types and ranges checked.
class TomlSection {
 public:
  // table may be null (section absent: every value takes its default). Unknown keys throw.
  TomlSection(const toml::table* table, std::string name, const std::filesystem::path& file, TomlKeys known);

  bool has(std::string_view key) const { return node(key) != nullptr; }
  int64_t integer(std::string_view key, int64_t fallback, int64_t lo, int64_t hi) const;
  // lo_open / hi_open: the bound itself is excluded.
  double number(std::string_view key, double fallback, double lo, double hi, bool lo_open = false,
                bool hi_open = false) const;
  bool boolean(std::string_view key, bool fallback) const;
  std::string string(std::string_view key, const std::string& fallback) const;
  // A path relative to the config file's directory; empty when absent.
  std::filesystem::path path(std::string_view key) const;
  // For enum-like strings: parse(text, what) throws with the allowed values.
  template <typename Parse>
  auto choice(std::string_view key, const std::string& fallback, Parse parse) const {
    return parse(string(key, fallback), fmt::format("{}: [{}] {}", where(key), name_, key));
  }
  // Exactly one of two keys: true for a, false for b; an error naming both otherwise.
  bool exactly_one(std::string_view a, std::string_view b) const;

  std::string where(std::string_view key) const;  // "file:line" of the key (or the file)
  const std::string& name() const { return name_; }

 private:
  const toml::node* node(std::string_view key) const { return table_ ? table_->get(key) : nullptr; }
  [[noreturn]] void type_error(const toml::node& n, std::string_view key, const char* expected) const;
  [[noreturn]] void range_error(std::string_view key, const std::string& value, const std::string& range) const;

  const toml::table* table_;
  std::string name_;
  std::filesystem::path file_;
};

}  // namespace whale
