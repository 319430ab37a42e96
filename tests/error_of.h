// Test helper: runs `f`, which must throw whale::Error, and returns its message (empty + test failure otherwise).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "core/error.h"

namespace whale::testing {

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected whale::Error";
  return "";
}

}  // namespace whale::testing
