// Finds a fixed tag (the end of reasoning, "</think>") in a byte stream split at arbitrary points: a
// Knuth-Morris-Pratt automaton whose state is the length of the tag's longest prefix the stream ends with.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace whale::grammar {

class TagMatcher {
 public:
  explicit TagMatcher(std::string_view tag) : tag_(tag), next_(tag.size() + 1) {
    for (size_t m = 0; m <= tag.size(); ++m)
      for (int c = 0; c < 256; ++c) {
        // The longest prefix of the tag that is a suffix of tag[0, m) + c (m = size: after a full match).
        std::string seen = std::string(tag.substr(0, m == tag.size() ? 0 : m)) + char(c);
        size_t k = std::min(seen.size(), tag.size());
        while (k > 0 && seen.compare(seen.size() - k, k, tag, 0, k) != 0) --k;
        next_[m][size_t(c)] = uint8_t(k);
      }
  }
  size_t size() const { return tag_.size(); }
  size_t step(size_t matched, uint8_t c) const { return next_[matched][c]; }
  // Scans `bytes` from state `matched`: the offset just past the first full match, or npos (matched updated).
  size_t find_end(size_t& matched, std::string_view bytes) const {
    for (size_t i = 0; i < bytes.size(); ++i)
      if ((matched = step(matched, uint8_t(bytes[i]))) == tag_.size()) return i + 1;
    return std::string_view::npos;
  }

 private:
  std::string tag_;
  std::vector<std::array<uint8_t, 256>> next_;  // [size + 1][byte]
};

}  // namespace whale::grammar
