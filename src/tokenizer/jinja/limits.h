// Bounds on one render, so that a hostile template (`range(10**8)`, nested loops, `'x' * 10**9`, runaway
// recursion, a string doubled in a loop) fails fast with a whale::Error naming the limit and the template line,
// instead of burning seconds and gigabytes (the defaults stop any template within about a second and a few
// hundred MB). They leave real templates room: 1,024 messages of 1,000 characters (a 1 MB request) take 0.3-0.4M
// steps through the DeepSeek-V3, R1-Distill, Qwen2.5 and Llama-3.1 templates.
#pragma once

#include <cstddef>
#include <cstdint>

namespace whale::jinja {

struct Limits {
  size_t max_output_bytes = size_t(16) << 20;  // the rendered text, and any one string or list a template builds
  // Evaluation work of one render: a step per statement and expression, more per loop iteration and macro
  // call, and steps by the size of each value an expression yields (evaluator.cc), so that work on big values
  // and the memory a render allocates count too.
  int64_t max_steps = 4'000'000;
  int64_t max_items = 100'000;  // length of a list built by range(), iteration, split, ...
  int max_call_depth = 100;     // nested macro calls
  int max_depth = 1000;         // nested statements, expressions and macro calls being evaluated (C++ stack)
};

}  // namespace whale::jinja
