// whale: one binary, one subcommand per stage. Errors become a one-line message and exit code 1.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "core/allocator.h"

int main(int argc, char** argv) {
  whale::keep_large_allocations_in_heap();
  CLI::App app{"whale: DeepSeek-architecture models: serve, train, reason"};
  app.require_subcommand(1);
  whale::cli::register_commands(app);
  try {
    app.parse(argc, argv);  // runs the selected subcommand's callback
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "whale: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
