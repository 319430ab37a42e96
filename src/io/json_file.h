// A whole JSON file (config.json, *.index.json, trainer_state.json, ...), read through read_regular_file so a
// FIFO or device is refused instead of read. Errors name the file.
#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

namespace whale {

nlohmann::json read_json_file(const std::filesystem::path& path);

}  // namespace whale
