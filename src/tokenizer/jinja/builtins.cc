#include "tokenizer/jinja/builtins.h"

#include <ctime>

#include "core/error.h"

namespace whale::jinja {
namespace {

int64_t int_arg(const Value& v, const char* fn) {
  if (!v.is_int() && !v.is_bool()) fail("{}() expects integers, got '{}'", fn, type_name(v));
  return v.as_int();
}

// Python's range(), refused before anything is built when it would hold more than max_items.
Value range(const CallArgs& a, int64_t max_items) {
  if (a.args.empty() || a.args.size() > 3) fail("range() expects 1 to 3 arguments, got {}", a.args.size());
  int64_t start = 0, stop, step = 1;
  if (a.args.size() == 1) {
    stop = int_arg(a.args[0], "range");
  } else {
    start = int_arg(a.args[0], "range");
    stop = int_arg(a.args[1], "range");
    if (a.args.size() == 3) step = int_arg(a.args[2], "range");
  }
  if (step == 0) fail("range() step must not be zero");
  // Length as Python computes it, in 128 bits so that range(-2**63, 2**63 - 1) cannot overflow.
  const __int128 span = step > 0 ? __int128(stop) - start : __int128(start) - stop;
  const __int128 magnitude = step > 0 ? __int128(step) : -__int128(step);
  const __int128 n = span <= 0 ? 0 : (span + magnitude - 1) / magnitude;
  if (n > max_items) fail("range() of more than the limit of {} items", max_items);
  List out;
  out.reserve(size_t(n));
  for (int64_t i = 0; i < int64_t(n); ++i) out.emplace_back(int64_t(start + __int128(i) * step));
  return Value::list(std::move(out));
}

Dict dict_from_args(const CallArgs& a, const char* fn) {
  Dict d;
  if (a.args.size() > 1) fail("{}() takes at most one positional argument", fn);
  if (a.args.size() == 1) {
    if (!a.args[0].is_mapping()) fail("{}() positional argument must be a mapping, got '{}'", fn, type_name(a.args[0]));
    d = a.args[0].as_dict();
  }
  for (const auto& [k, v] : a.kwargs) d.set(k, v);
  return d;
}

Value strftime_now(const CallArgs& a) {
  if (a.args.size() != 1 || !a.args[0].is_string()) fail("strftime_now() expects one format string");
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[256];
  size_t n = std::strftime(buf, sizeof(buf), a.args[0].as_string().c_str(), &tm);
  return Value(std::string(buf, n));
}

}  // namespace

Dict global_functions(const Limits& limits) {
  Dict g;
  g.set("range",
        Value::function("range", [max_items = limits.max_items](const CallArgs& a) { return range(a, max_items); }));
  g.set("namespace", Value::function("namespace", [](const CallArgs& a) {
          return Value::make_namespace(dict_from_args(a, "namespace"));
        }));
  g.set("dict", Value::function("dict", [](const CallArgs& a) { return Value::dict(dict_from_args(a, "dict")); }));
  g.set("raise_exception",
        Value::function("raise_exception", [max_bytes = limits.max_output_bytes](const CallArgs& a) -> Value {
          fail("raise_exception: {}", a.args.empty() ? std::string() : to_str(a.args[0], max_bytes));
        }));
  g.set("strftime_now", Value::function("strftime_now", strftime_now));
  return g;
}

}  // namespace whale::jinja
