// Error handling: recoverable failures at the edges (files, configs, user input) throw whale::Error with a
// message naming the file, tensor or field; broken invariants inside ops abort with file:line.
#pragma once

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace whale {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

[[noreturn]] inline void check_failed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "whale: internal check failed: %s at %s:%d\n", expr, file, line);
  std::abort();
}

}  // namespace whale

// Invariant check for hot paths and op preconditions (not for user input: use whale::fail there).
#define WHALE_CHECK(cond) \
  do {                    \
    if (!(cond)) ::whale::check_failed(#cond, __FILE__, __LINE__); \
  } while (0)
