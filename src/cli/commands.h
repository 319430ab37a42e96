// Each subcommand lives in its own cli/<name>_command.cc and registers itself on the app here.
#pragma once

#include <CLI/CLI.hpp>

namespace whale::cli {

inline void register_commands(CLI::App& app) {
}

}  // namespace whale::cli
