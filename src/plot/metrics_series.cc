#include "plot/metrics_series.h"

#include <sstream>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/regular_file.h"

namespace whale {

std::vector<Series> read_metrics_series(const std::filesystem::path& file, const std::string& x_key,
                                        std::vector<std::string> y_keys) {
  std::istringstream in(read_regular_file(file));
  std::vector<nlohmann::json> records;
  std::set<std::string> numeric_keys;  // every key that holds a number somewhere
  size_t line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) fail("{}:{}: not a JSON object", file.string(), line_no);
    for (const auto& [k, v] : j.items())
      if (v.is_number()) numeric_keys.insert(k);
    records.push_back(std::move(j));
  }
  if (records.empty()) fail("{}: no records", file.string());
  if (!numeric_keys.count(x_key))
    fail("{}: no record has a numeric '{}' for the x axis (numeric fields: {})", file.string(), x_key,
         fmt::join(numeric_keys, ", "));
  if (y_keys.empty()) {
    for (const char* k : {"loss", "eval_loss", "lr"})
      if (numeric_keys.count(k)) y_keys.push_back(k);
    if (y_keys.empty()) fail("{}: none of loss, eval_loss, lr is present; pick fields with --y", file.string());
  }
  std::vector<Series> series;
  for (const std::string& key : y_keys) {
    if (!numeric_keys.count(key))
      fail("{}: no record has a numeric '{}' (numeric fields: {})", file.string(), key, fmt::join(numeric_keys, ", "));
    Series s;
    s.name = key;
    for (const nlohmann::json& r : records) {
      auto x = r.find(x_key), y = r.find(key);
      if (x == r.end() || y == r.end() || !x->is_number() || !y->is_number()) continue;
      s.x.push_back(x->get<double>());
      s.y.push_back(y->get<double>());
    }
    series.push_back(std::move(s));
  }
  return series;
}

}  // namespace whale
