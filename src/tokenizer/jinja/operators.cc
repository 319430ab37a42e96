#include "tokenizer/jinja/operators.h"

#include <cmath>

#include "core/error.h"
#include "tokenizer/jinja/text.h"

namespace whale::jinja {
namespace {

constexpr size_t kMaxKeyRepr = size_t(1) << 20;  // of a key named in an error message

void fail_undefined(const Value& v) { fail("{}", v.name().empty() ? "undefined value" : v.name()); }

[[noreturn]] void unsupported(const std::string& op, const Value& a, const Value& b) {
  fail("unsupported operand types for {}: '{}' and '{}'", op, type_name(a), type_name(b));
}

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// seq * n. The size is checked before anything is built (and without overflow: n may be 10**18).
Value repeat(const Value& seq, int64_t n, size_t max_bytes) {
  const size_t times = size_t(std::max<int64_t>(n, 0));
  const size_t unit = seq.is_string() ? seq.as_string().size() : seq.as_list().size() * sizeof(Value);
  if (unit == 0 || times == 0) return seq.is_string() ? Value("") : Value::list({});
  if (unit > max_bytes / times)
    fail("repeating {} bytes {} times exceeds the output limit of {} bytes", unit, times, max_bytes);
  if (seq.is_string()) {  // doubling: 'x' * 10**7 is a few copies, not 10**7 appends
    std::string out = seq.as_string();
    out.reserve(unit * times);
    while (out.size() * 2 <= unit * times) out += out;
    out.append(out, 0, unit * times - out.size());
    return Value(std::move(out));
  }
  List out;
  out.reserve(seq.as_list().size() * times);
  for (size_t i = 0; i < times; ++i) out.insert(out.end(), seq.as_list().begin(), seq.as_list().end());
  return Value::list(std::move(out));
}

Value arithmetic(const std::string& op, const Value& a, const Value& b) {
  if (!a.is_number() || !b.is_number()) unsupported(op, a, b);
  bool use_float = a.is_float() || b.is_float() || op == "/";
  if (op == "**") {
    if (!use_float && b.as_int() >= 0) {
      double p = std::pow(a.as_float(), b.as_float());
      if (std::fabs(p) >= 9.2e18) fail("integer result of ** is too large");
      return Value(int64_t(std::llround(p)));
    }
    return Value(std::pow(a.as_float(), b.as_float()));
  }
  if ((op == "/" || op == "//" || op == "%") && b.as_float() == 0.0) fail("division by zero");
  if (use_float) {
    double x = a.as_float(), y = b.as_float();
    if (op == "+") return Value(x + y);
    if (op == "-") return Value(x - y);
    if (op == "*") return Value(x * y);
    if (op == "/") return Value(x / y);
    if (op == "//") return Value(std::floor(x / y));
    double r = std::fmod(x, y);  // Python: result has the sign of the divisor
    if (r != 0 && ((r < 0) != (y < 0))) r += y;
    return Value(r);
  }
  int64_t x = a.as_int(), y = b.as_int(), r = 0;
  bool overflow = false;
  if (op == "+") overflow = __builtin_add_overflow(x, y, &r);
  if (op == "-") overflow = __builtin_sub_overflow(x, y, &r);
  if (op == "*") overflow = __builtin_mul_overflow(x, y, &r);
  if (overflow) fail("integer overflow in {}", op);
  if (op == "+" || op == "-" || op == "*") return Value(r);
  if (op == "//") return Value(floor_div(x, y));
  return Value(x - floor_div(x, y) * y);
}

// Python's slice.indices(): clamps start/stop for a sequence of length n.
void slice_indices(int64_t n, const Value& start, const Value& stop, const Value& step_v, int64_t* b, int64_t* e,
                   int64_t* step) {
  auto given = [](const Value& v) { return !v.is_undefined() && !v.is_none(); };
  for (const Value* v : {&start, &stop, &step_v})
    if (given(*v) && !v->is_int() && !v->is_bool()) fail("slice indices must be integers, not '{}'", type_name(*v));
  *step = given(step_v) ? step_v.as_int() : 1;
  if (*step == 0) fail("slice step cannot be zero");
  auto clamp = [&](const Value& v, int64_t dflt) {
    if (!given(v)) return dflt;
    int64_t i = v.as_int();
    if (i < 0) i += n;
    if (*step > 0) return std::clamp<int64_t>(i, 0, n);
    return std::clamp<int64_t>(i, -1, n - 1);
  };
  *b = clamp(start, *step > 0 ? 0 : n - 1);
  *e = clamp(stop, *step > 0 ? n : -1);
}

}  // namespace

Value binary_op(const std::string& op, const Value& a, const Value& b, size_t max_bytes) {
  if (op == "~") {
    std::string s = to_str(a, max_bytes) + to_str(b, max_bytes);
    check_string_size(s.size(), max_bytes);
    return Value(std::move(s));
  }
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  if (op == "+") {
    if (a.is_string() && b.is_string()) {
      check_string_size(a.as_string().size() + b.as_string().size(), max_bytes);
      return Value(a.as_string() + b.as_string());
    }
    if (a.is_list() && b.is_list()) {
      check_string_size((a.as_list().size() + b.as_list().size()) * sizeof(Value), max_bytes);
      List out = a.as_list();
      out.insert(out.end(), b.as_list().begin(), b.as_list().end());
      return Value::list(std::move(out));
    }
  }
  if (op == "*") {
    if ((a.is_string() || a.is_list()) && (b.is_int() || b.is_bool())) return repeat(a, b.as_int(), max_bytes);
    if ((b.is_string() || b.is_list()) && (a.is_int() || a.is_bool())) return repeat(b, a.as_int(), max_bytes);
  }
  if (op == "%" && a.is_string()) fail("printf-style string formatting ('%') is not supported");
  return arithmetic(op, a, b);
}

Value negate(const Value& v) {
  if (v.is_undefined()) fail_undefined(v);
  if (v.is_float()) return Value(-v.as_float());
  if (v.is_number()) return Value(-v.as_int());
  fail("bad operand type for unary -: '{}'", type_name(v));
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::kUndefined:
      return false;
    case Value::Kind::kString:
      if (!item.is_string()) fail("'in <string>' requires string as left operand, not '{}'", type_name(item));
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Value::Kind::kList:
      for (const auto& v : container.as_list())
        if (equals(v, item)) return true;
      return false;
    case Value::Kind::kDict:
    case Value::Kind::kNamespace:
      return item.is_string() && container.as_dict().find(item.as_string());
    default:
      fail("argument of type '{}' is not iterable", type_name(container));
  }
}

Value get_attr(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (obj.is_mapping()) {
    if (const Value* v = obj.as_dict().find(name)) return *v;
  }
  return Value::undefined(fmt::format("'{} object' has no attribute '{}'", type_name(obj), name));
}

Value get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (obj.is_mapping() && !key.is_string())
    return Value::undefined(fmt::format("'{} object' has no element {}", type_name(obj), repr(key, kMaxKeyRepr)));
  if ((obj.is_list() || obj.is_string()) && (key.is_int() || key.is_bool())) {
    const int64_t n = obj.is_list() ? int64_t(obj.as_list().size()) : int64_t(utf8_length(obj.as_string()));
    const int64_t i = key.as_int() < 0 ? key.as_int() + n : key.as_int();
    if (i < 0 || i >= n)
      return Value::undefined(fmt::format("'{} object' has no element {}", type_name(obj), key.as_int()));
    if (obj.is_list()) return obj.as_list()[size_t(i)];
    const std::string& s = obj.as_string();
    const size_t begin = utf8_offset(s, size_t(i));
    return Value(s.substr(begin, utf8_char_end(s, begin) - begin));
  }
  if (key.is_string()) return get_attr(obj, key.as_string());
  return Value::undefined(fmt::format("'{} object' has no element {}", type_name(obj), repr(key, kMaxKeyRepr)));
}

Value slice(const Value& obj, const Value& start, const Value& stop, const Value& step) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (!obj.is_list() && !obj.is_string()) fail("'{}' object cannot be sliced", type_name(obj));
  if (obj.is_list()) {
    const List& all = obj.as_list();
    int64_t b, e, s;
    slice_indices(int64_t(all.size()), start, stop, step, &b, &e, &s);
    List items;
    for (int64_t i = b; s > 0 ? i < e : i > e; i += s) items.push_back(all[size_t(i)]);
    return Value::list(std::move(items));
  }
  const std::string& text = obj.as_string();
  std::vector<size_t> starts;  // [n_chars + 1] byte offset of each character, then text.size()
  for (size_t i = 0; i < text.size(); i = utf8_char_end(text, i)) starts.push_back(i);
  starts.push_back(text.size());
  int64_t b, e, s;
  slice_indices(int64_t(starts.size()) - 1, start, stop, step, &b, &e, &s);
  if (s == 1) return Value(b < e ? text.substr(starts[size_t(b)], starts[size_t(e)] - starts[size_t(b)]) : "");
  std::string out;
  for (int64_t i = b; s > 0 ? i < e : i > e; i += s)
    out.append(text, starts[size_t(i)], starts[size_t(i) + 1] - starts[size_t(i)]);
  return Value(std::move(out));
}

}  // namespace whale::jinja
