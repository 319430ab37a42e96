#include "io/json_file.h"

#include "core/error.h"
#include "core/regular_file.h"

namespace whale {

nlohmann::json read_json_file(const std::filesystem::path& path) {
  const std::string text = read_regular_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: malformed JSON: {}", path.string(), e.what());
  }
}

}  // namespace whale
