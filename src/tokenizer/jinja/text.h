// Python str operations over UTF-8 text: indexes, lengths and slices count code points, as in Python.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace whale::jinja {

// The code points of `s`, each as its UTF-8 bytes (invalid bytes pass through one by one).
std::vector<std::string> utf8_chars(const std::string& s);
size_t utf8_length(const std::string& s);
std::string utf8_encode(uint32_t code_point);

// str.strip / lstrip / rstrip; `chars` unset strips Unicode whitespace.
std::string py_strip(const std::string& s, const std::optional<std::string>& chars, bool left, bool right);
// str.split(sep, maxsplit); sep unset splits on runs of whitespace and drops empty parts.
std::vector<std::string> py_split(const std::string& s, const std::optional<std::string>& sep, int64_t maxsplit);
// str.replace(old, new, count); count < 0 replaces all.
std::string py_replace(const std::string& s, const std::string& old_text, const std::string& new_text, int64_t count);
// Case mapping (ASCII letters only; other characters are kept).
std::string py_upper(const std::string& s);
std::string py_lower(const std::string& s);
std::string py_capitalize(const std::string& s);
std::string py_title(const std::string& s);

}  // namespace whale::jinja
