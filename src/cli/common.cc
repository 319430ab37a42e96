#include "cli/common.h"

#include <charconv>

#include "core/error.h"

namespace whale::cli {

std::vector<int32_t> parse_id_list(const std::string& text, const std::string& what) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i <= text.size()) {
    size_t comma = text.find(',', i);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(i, comma - i);
    int32_t v = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() || v < 0)
      fail("{}: '{}' is not a non-negative token id (expected a list like 1,2,3)", what, item);
    ids.push_back(v);
    i = comma + 1;
  }
  return ids;
}

}  // namespace whale::cli
