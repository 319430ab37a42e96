#include "tokenizer/jinja/text.h"

#include "core/error.h"

namespace whale::jinja {
namespace {

size_t utf8_seq_len(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c >> 5) == 0x6) return 2;
  if ((c >> 4) == 0xe) return 3;
  if ((c >> 3) == 0x1e) return 4;
  return 1;
}

// Python's str.isspace() set.
bool is_space(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20) || cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

}  // namespace

size_t utf8_char_end(std::string_view s, size_t i) {
  const size_t n = utf8_seq_len(static_cast<unsigned char>(s[i]));
  if (i + n > s.size()) return i + 1;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return i + 1;
  return i + n;
}

uint32_t utf8_decode(std::string_view ch) {
  auto c = static_cast<unsigned char>(ch[0]);
  if (ch.size() == 1) return c;
  uint32_t cp = c & (0x7f >> ch.size());
  for (size_t i = 1; i < ch.size(); ++i) cp = (cp << 6) | (static_cast<unsigned char>(ch[i]) & 0x3f);
  return cp;
}

std::vector<std::string> utf8_chars(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0, end; i < s.size(); i = end) {
    end = utf8_char_end(s, i);
    out.push_back(s.substr(i, end - i));
  }
  return out;
}

size_t utf8_length(const std::string& s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); i = utf8_char_end(s, i)) ++n;
  return n;
}

size_t utf8_offset(const std::string& s, size_t index) {
  size_t i = 0;
  for (size_t k = 0; k < index && i < s.size(); ++k) i = utf8_char_end(s, i);
  return i;
}

std::string utf8_encode(uint32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xc0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += char(0xe0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  } else {
    out += char(0xf0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3f));
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  }
  return out;
}

std::string py_strip(const std::string& s, const std::optional<std::string>& chars, bool left, bool right) {
  const std::vector<std::string> set = chars ? utf8_chars(*chars) : std::vector<std::string>{};
  auto strip_it = [&](std::string_view c) {
    if (!chars) return is_space(utf8_decode(c));
    for (const auto& x : set)
      if (x == c) return true;
    return false;
  };
  const std::string_view v = s;
  size_t b = 0, e = 0;  // the kept characters are v[b, e)
  if (left)
    while (b < v.size() && strip_it(v.substr(b, utf8_char_end(v, b) - b))) b = utf8_char_end(v, b);
  if (!right) return s.substr(b);
  for (size_t i = b; i < v.size();) {  // e: the end of the last character not stripped
    const size_t end = utf8_char_end(v, i);
    if (!strip_it(v.substr(i, end - i))) e = end;
    i = end;
  }
  return s.substr(b, std::max(e, b) - b);
}

void check_string_size(size_t n, size_t max_bytes) {
  if (n > max_bytes) fail("result of {} bytes exceeds the output limit of {} bytes", n, max_bytes);
}

std::vector<std::string> py_split(const std::string& s, const std::optional<std::string>& sep, int64_t maxsplit,
                                  int64_t max_parts) {
  std::vector<std::string> out;
  auto add = [&](std::string part) {
    if (int64_t(out.size()) >= max_parts) fail("str.split: more than the limit of {} parts", max_parts);
    out.push_back(std::move(part));
  };
  if (sep) {
    if (sep->empty()) fail("str.split: empty separator");
    size_t pos = 0;
    while (maxsplit < 0 || int64_t(out.size()) < maxsplit) {
      size_t hit = s.find(*sep, pos);
      if (hit == std::string::npos) break;
      add(s.substr(pos, hit - pos));
      pos = hit + sep->size();
    }
    add(s.substr(pos));
    return out;
  }
  const std::string_view v = s;
  auto space_at = [&](size_t i) { return is_space(utf8_decode(v.substr(i, utf8_char_end(v, i) - i))); };
  size_t i = 0;
  while (i < v.size()) {
    while (i < v.size() && space_at(i)) i = utf8_char_end(v, i);
    if (i == v.size()) break;
    if (maxsplit >= 0 && int64_t(out.size()) == maxsplit) {
      // The rest, with its trailing whitespace removed, is the last part.
      add(py_strip(s.substr(i), std::nullopt, false, true));
      break;
    }
    const size_t word = i;
    while (i < v.size() && !space_at(i)) i = utf8_char_end(v, i);
    add(s.substr(word, i - word));
  }
  return out;
}

std::string py_replace(const std::string& s, const std::string& old_text, const std::string& new_text, int64_t count,
                       size_t max_bytes) {
  std::string out;
  int64_t done = 0;
  auto add = [&](std::string_view text) {
    check_string_size(out.size() + text.size(), max_bytes);
    out += text;
  };
  if (old_text.empty()) {
    // Python inserts `new` before every character and at the end.
    for (size_t i = 0, end; i < s.size(); i = end) {
      if (count < 0 || done < count) {
        add(new_text);
        ++done;
      }
      end = utf8_char_end(s, i);
      add(std::string_view(s).substr(i, end - i));
    }
    if (count < 0 || done < count) add(new_text);
    return out;
  }
  size_t pos = 0;
  while (count < 0 || done < count) {
    size_t hit = s.find(old_text, pos);
    if (hit == std::string::npos) break;
    add(std::string_view(s).substr(pos, hit - pos));
    add(new_text);
    pos = hit + old_text.size();
    ++done;
  }
  add(std::string_view(s).substr(pos));
  return out;
}

std::string py_upper(const std::string& s) {
  std::string out = s;
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = char(c - 'a' + 'A');
  return out;
}

std::string py_lower(const std::string& s) {
  std::string out = s;
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return out;
}

std::string py_capitalize(const std::string& s) {
  std::string out = py_lower(s);
  if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = char(out[0] - 'a' + 'A');
  return out;
}

std::string py_title(const std::string& s) {
  std::string out = s;
  bool prev_letter = false;
  for (char& c : out) {
    bool lower = c >= 'a' && c <= 'z', upper = c >= 'A' && c <= 'Z';
    if (lower && !prev_letter) c = char(c - 'a' + 'A');
    if (upper && prev_letter) c = char(c - 'A' + 'a');
    prev_letter = lower || upper;
  }
  return out;
}

}  // namespace whale::jinja
