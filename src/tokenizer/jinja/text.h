// Python str operations over UTF-8 text: indexes, lengths and slices count code points, as in Python.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace whale::jinja {

// End of the code point that starts at s[i]: an invalid byte is a character of its own.
size_t utf8_char_end(std::string_view s, size_t i);
// The code point of one character as utf8_char_end() delimits it (an invalid byte gives its value).
uint32_t utf8_decode(std::string_view ch);
// The code points of `s`, each as its UTF-8 bytes (invalid bytes pass through one by one).
std::vector<std::string> utf8_chars(const std::string& s);
size_t utf8_length(const std::string& s);
// Byte offset of code point `index` of `s` (s.size() if there are not that many).
size_t utf8_offset(const std::string& s, size_t index);
std::string utf8_encode(uint32_t code_point);

// str.strip / lstrip / rstrip; `chars` unset strips Unicode whitespace.
std::string py_strip(const std::string& s, const std::optional<std::string>& chars, bool left, bool right);
// str.split(sep, maxsplit); sep unset splits on runs of whitespace and drops empty parts. More than max_parts
// parts is a whale::Error.
std::vector<std::string> py_split(const std::string& s, const std::optional<std::string>& sep, int64_t maxsplit,
                                  int64_t max_parts);
// str.replace(old, new, count); count < 0 replaces all. A result over max_bytes is a whale::Error.
std::string py_replace(const std::string& s, const std::string& old_text, const std::string& new_text, int64_t count,
                       size_t max_bytes);
// Refuses a string of `n` bytes built under a limit of max_bytes.
void check_string_size(size_t n, size_t max_bytes);
// Case mapping (ASCII letters only; other characters are kept).
std::string py_upper(const std::string& s);
std::string py_lower(const std::string& s);
std::string py_capitalize(const std::string& s);
std::string py_title(const std::string& s);

}  // namespace whale::jinja
