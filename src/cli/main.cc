// whale: one binary, one subcommand per stage. Errors, argument errors included, become a one-line
// "whale: error: ..." message (with a did-you-mean hint for a misspelt subcommand or flag) and exit code 1.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <exception>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.h"
#include "core/allocator.h"
#include "core/closest_match.h"

namespace {

std::vector<std::string> long_flags(const CLI::App& app) {
  std::vector<std::string> flags;
  for (const CLI::Option* o : app.get_options())
    for (const std::string& name : o->get_lnames()) flags.push_back("--" + name);
  return flags;
}

std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
  const std::vector<std::string_view> views(candidates.begin(), candidates.end());
  return whale::closest_match(word, views);
}

// The first argument that is neither a subcommand nor a flag of the one chosen, as "unknown ... (did you
// mean ...?)"; "" when every argument is known.
std::string unknown_argument(const CLI::App& app, int argc, char** argv) {
  const auto all = std::function<bool(const CLI::App*)>{};
  const CLI::App* sub = nullptr;
  std::vector<std::string> names;
  for (const CLI::App* s : app.get_subcommands(all)) {
    names.push_back(s->get_name());
    if (s->parsed()) sub = s;
  }
  auto did_you_mean = [](const std::string& best, const std::string& prefix) {
    return best.empty() ? std::string() : " (did you mean '" + prefix + best + "'?)";
  };
  std::string path = "whale";
  if (sub) {  // the deepest subcommand chosen (whale rl cold-start ...)
    path += " " + sub->get_name();
    for (bool deeper = true; deeper;) {
      deeper = false;
      for (const CLI::App* s : sub->get_subcommands(all))
        if (s->parsed()) {
          sub = s;
          path += " " + s->get_name();
          deeper = true;
        }
    }
  } else {
    if (argc > 1 && argv[1][0] != '-')
      return "unknown subcommand '" + std::string(argv[1]) + "'" + did_you_mean(closest(argv[1], names), "whale ");
    return "";
  }
  std::vector<std::string> sub_names;
  for (const CLI::App* s : sub->get_subcommands(all)) sub_names.push_back(s->get_name());
  const std::vector<std::string> flags = long_flags(*sub);
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (i == 2 && !sub_names.empty() && !arg.starts_with("-") &&
        std::find(sub_names.begin(), sub_names.end(), arg) == sub_names.end())
      return "unknown subcommand '" + arg + "' of '" + path + "'" + did_you_mean(closest(arg, sub_names), path + " ");
    if (arg == "--") break;
    if (!arg.starts_with("--")) continue;
    arg = arg.substr(0, arg.find('='));
    if (std::find(flags.begin(), flags.end(), arg) == flags.end())
      return "unknown option '" + arg + "' for '" + path + "'" + did_you_mean(closest(arg, flags), "");
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  whale::keep_large_allocations_in_heap();
  CLI::App app{"whale: DeepSeek-architecture models: serve, train, reason"};
  app.require_subcommand(1);
  app.option_defaults()->always_capture_default();  // --help shows each option's default
  whale::cli::register_commands(app);
  try {
    app.parse(argc, argv);  // runs the selected subcommand's callback
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string message = unknown_argument(app, argc, argv);
    if (message.empty()) message = e.what();
    if (message == "A subcommand is required") message = "give a subcommand (whale --help lists them)";
    std::fprintf(stderr, "whale: error: %s\n", message.c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "whale: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
