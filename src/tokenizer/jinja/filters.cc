#include "tokenizer/jinja/filters.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "tokenizer/jinja/json_dump.h"
#include "tokenizer/jinja/operators.h"
#include "tokenizer/jinja/text.h"

namespace whale::jinja {
namespace {

const Value* arg(const CallArgs& a, size_t i, const std::string& name) {
  const Value* v = a.get(i, name);
  return v && !v->is_undefined() ? v : nullptr;
}

std::string string_arg(const CallArgs& a, size_t i, const std::string& name, const std::string& filter,
                       const std::string& dflt) {
  const Value* v = arg(a, i, name);
  if (!v || v->is_none()) return dflt;
  if (!v->is_string()) fail("filter '{}': argument '{}' must be a string, got '{}'", filter, name, type_name(*v));
  return v->as_string();
}

// `a.b.c` attribute paths, as Jinja's attribute= arguments accept; integer parts index lists.
Value attribute_path(const Value& v, const std::string& path) {
  Value cur = v;
  for (const auto& part : py_split(path, std::string("."), -1, int64_t(path.size()) + 1)) {
    if (cur.is_undefined()) return cur;
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    cur = digits ? get_item(cur, Value(int64_t(std::stoll(part)))) : get_item(cur, Value(part));
  }
  return cur;
}

// An indent given as a count of spaces.
std::string spaces(const Value& width, const char* filter, const Limits& limits) {
  constexpr int64_t kMaxIndent = 256;
  if (!width.is_int() || width.as_int() < 0 || width.as_int() > kMaxIndent)
    fail("filter '{}': indent must be an integer in [0, {}] or a string, got {}", filter, kMaxIndent,
         repr(width, limits.max_output_bytes));
  return std::string(size_t(width.as_int()), ' ');
}

CallArgs rest_args(const CallArgs& a, size_t first) {
  CallArgs r;
  for (size_t i = first; i < a.args.size(); ++i) r.args.push_back(a.args[i]);
  r.kwargs = a.kwargs;
  return r;
}

Value tojson(const Value& v, const CallArgs& a, const Limits& limits) {
  JsonStyle style;
  style.max_bytes = limits.max_output_bytes;
  if (const Value* ea = arg(a, 0, "ensure_ascii")) style.ensure_ascii = truthy(*ea);
  if (const Value* indent = arg(a, 1, "indent"); indent && !indent->is_none()) {
    style.indent = indent->is_string() ? indent->as_string() : spaces(*indent, "tojson", limits);
    style.item_separator = ",";
  }
  if (const Value* sep = arg(a, 2, "separators"); sep && !sep->is_none()) {
    if (!sep->is_list() || sep->as_list().size() != 2 || !sep->as_list()[0].is_string() ||
        !sep->as_list()[1].is_string())
      fail("filter 'tojson': separators must be a pair of strings");
    style.item_separator = sep->as_list()[0].as_string();
    style.key_separator = sep->as_list()[1].as_string();
  }
  if (const Value* sk = arg(a, 3, "sort_keys")) style.sort_keys = truthy(*sk);
  return Value(json_dumps(v, style));
}

// selectattr / rejectattr / select / reject: keep items whose (attribute) value passes the test.
Value select_items(const Value& v, const CallArgs& a, bool by_attr, bool keep, const Limits& limits) {
  size_t first = 0;
  std::string attr;
  if (by_attr) {
    if (a.args.empty() || !a.args[0].is_string()) fail("filter 'selectattr'/'rejectattr' needs an attribute name");
    attr = a.args[0].as_string();
    first = 1;
  }
  std::string test;
  if (a.args.size() > first) {
    if (!a.args[first].is_string()) fail("select filters take the test name as a string");
    test = a.args[first].as_string();
  }
  CallArgs test_args;
  for (size_t i = first + 1; i < a.args.size(); ++i) test_args.args.push_back(a.args[i]);
  List out;
  for (const auto& item : iterate(v, limits.max_items)) {
    Value x = by_attr ? attribute_path(item, attr) : item;
    bool pass = test.empty() ? truthy(x) : apply_test(test, x, test_args);
    if (pass == keep) out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value map_items(const Value& v, const CallArgs& a, const Limits& limits) {
  List out;
  if (const Value* attr = a.kwarg("attribute")) {
    if (!attr->is_string()) fail("filter 'map': attribute must be a string");
    const Value* dflt = a.kwarg("default");
    for (const auto& item : iterate(v, limits.max_items)) {
      Value x = attribute_path(item, attr->as_string());
      out.push_back(x.is_undefined() && dflt ? *dflt : x);
    }
    return Value::list(std::move(out));
  }
  if (a.args.empty() || !a.args[0].is_string()) fail("filter 'map' needs attribute= or a filter name");
  CallArgs rest = rest_args(a, 1);
  for (const auto& item : iterate(v, limits.max_items))
    out.push_back(apply_filter(a.args[0].as_string(), item, rest, limits));
  return Value::list(std::move(out));
}

Value indent(const Value& v, const CallArgs& a, const Limits& limits) {
  std::string pad = "    ";
  if (const Value* w = arg(a, 0, "width")) pad = w->is_string() ? w->as_string() : spaces(*w, "indent", limits);
  bool first = arg(a, 1, "first") && truthy(*arg(a, 1, "first"));
  bool blank = arg(a, 2, "blank") && truthy(*arg(a, 2, "blank"));
  std::vector<std::string> lines =
      py_split(to_str(v, limits.max_output_bytes) + "\n", std::string("\n"), -1, limits.max_items);
  lines.pop_back();  // the part after the appended newline
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) {
      out += '\n';
      if (blank || !lines[i].empty()) out += pad;
    }
    out += lines[i];
    check_string_size(out.size(), limits.max_output_bytes);
  }
  return Value(first ? pad + out : out);
}

Value sort_items(const Value& v, const CallArgs& a, const Limits& limits) {
  List items = iterate(v, limits.max_items);
  bool reverse = arg(a, 0, "reverse") && truthy(*arg(a, 0, "reverse"));
  std::string attr = string_arg(a, 2, "attribute", "sort", "");
  auto key = [&](const Value& x) { return attr.empty() ? x : attribute_path(x, attr); };
  std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
    int c = compare(key(x), key(y));
    return reverse ? c > 0 : c < 0;
  });
  return Value::list(std::move(items));
}

Value length(const Value& v) {
  if (v.is_string()) return Value(int64_t(utf8_length(v.as_string())));
  if (v.is_list()) return Value(int64_t(v.as_list().size()));
  if (v.is_mapping()) return Value(int64_t(v.as_dict().items.size()));
  if (v.is_undefined()) return Value(int64_t(0));
  fail("object of type '{}' has no length", type_name(v));
}

Value first_or_last(const Value& v, bool first, const Limits& limits) {
  List items = iterate(v, limits.max_items);
  if (items.empty()) return Value::undefined(fmt::format("no {} item of an empty sequence", first ? "first" : "last"));
  return first ? items.front() : items.back();
}

Value to_int(const Value& v, const CallArgs& a) {
  const Value* d = arg(a, 0, "default");
  Value dflt = d ? *d : Value(int64_t(0));
  if (v.is_int() || v.is_bool()) return Value(v.as_int());
  if (v.is_float()) return Value(int64_t(v.as_float()));
  if (v.is_string()) {
    std::string s = py_strip(v.as_string(), std::nullopt, true, true);
    try {
      size_t used = 0;
      int64_t i = std::stoll(s, &used);
      if (used == s.size()) return Value(i);
      double f = std::stod(s, &used);
      if (used == s.size()) return Value(int64_t(f));
    } catch (const std::exception&) {
    }
  }
  return dflt;
}

Value to_float(const Value& v, const CallArgs& a) {
  const Value* d = arg(a, 0, "default");
  if (v.is_number()) return Value(v.as_float());
  if (v.is_string()) {
    try {
      size_t used = 0;
      std::string s = py_strip(v.as_string(), std::nullopt, true, true);
      double f = std::stod(s, &used);
      if (used == s.size()) return Value(f);
    } catch (const std::exception&) {
    }
  }
  return d ? *d : Value(0.0);
}

std::string html_escape(const std::string& s, size_t max_bytes) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  check_string_size(out.size(), max_bytes);  // at most 6 bytes per byte of `s`
  return out;
}

}  // namespace

Value apply_filter(const std::string& name, const Value& v, const CallArgs& a, const Limits& limits) {
  auto str = [&](const Value& x) { return to_str(x, limits.max_output_bytes); };
  if (name == "trim") {
    const Value* chars = arg(a, 0, "chars");
    return Value(
        py_strip(str(v), chars && chars->is_string() ? std::optional(chars->as_string()) : std::nullopt, true, true));
  }
  if (name == "length" || name == "count") return length(v);
  if (name == "upper") return Value(py_upper(str(v)));
  if (name == "lower") return Value(py_lower(str(v)));
  if (name == "capitalize") return Value(py_capitalize(str(v)));
  if (name == "title") return Value(py_title(str(v)));
  if (name == "string") return Value(str(v));
  if (name == "safe") return v;
  if (name == "e" || name == "escape") return Value(html_escape(str(v), limits.max_output_bytes));
  if (name == "tojson") return tojson(v, a, limits);
  if (name == "join") {
    std::string sep = string_arg(a, 0, "d", name, "");
    std::string attr = string_arg(a, 1, "attribute", name, "");
    std::string out;
    bool first = true;
    for (const auto& item : iterate(v, limits.max_items)) {
      out += (first ? "" : sep) + str(attr.empty() ? item : attribute_path(item, attr));
      check_string_size(out.size(), limits.max_output_bytes);
      first = false;
    }
    return Value(std::move(out));
  }
  if (name == "replace") {
    const Value* count = arg(a, 2, "count");
    return Value(py_replace(str(v), string_arg(a, 0, "old", name, ""), string_arg(a, 1, "new", name, ""),
                            count && count->is_int() ? count->as_int() : -1, limits.max_output_bytes));
  }
  if (name == "first" || name == "last") return first_or_last(v, name == "first", limits);
  if (name == "default" || name == "d") {
    const Value* dflt = a.get(0, "default_value");
    bool boolean = arg(a, 1, "boolean") && truthy(*arg(a, 1, "boolean"));
    if (v.is_undefined() || (boolean && !truthy(v))) return dflt ? *dflt : Value("");
    return v;
  }
  if (name == "items") {
    if (v.is_undefined()) return Value::list({});
    if (!v.is_mapping()) fail("filter 'items' expects a mapping, got '{}'", type_name(v));
    List out;
    for (const auto& [k, x] : v.as_dict().items) out.push_back(Value::list({Value(k), x}));
    return Value::list(std::move(out));
  }
  if (name == "selectattr" || name == "rejectattr") return select_items(v, a, true, name == "selectattr", limits);
  if (name == "select" || name == "reject") return select_items(v, a, false, name == "select", limits);
  if (name == "map") return map_items(v, a, limits);
  if (name == "list") return Value::list(iterate(v, limits.max_items));
  if (name == "reverse") {
    if (v.is_string()) return slice(v, Value::none(), Value::none(), Value(int64_t(-1)));
    List items = iterate(v, limits.max_items);
    std::reverse(items.begin(), items.end());
    return Value::list(std::move(items));
  }
  if (name == "sort") return sort_items(v, a, limits);
  if (name == "int") return to_int(v, a);
  if (name == "float") return to_float(v, a);
  if (name == "abs") {
    if (!v.is_number()) fail("filter 'abs' expects a number, got '{}'", type_name(v));
    return v.is_float() ? Value(std::fabs(v.as_float())) : Value(int64_t(std::llabs(v.as_int())));
  }
  if (name == "indent") return indent(v, a, limits);
  fail("unsupported filter '{}'", name);
}

bool apply_test(const std::string& name, const Value& v, const CallArgs& a) {
  auto operand = [&]() -> const Value& {
    if (a.args.empty()) fail("test '{}' needs an argument", name);
    return a.args[0];
  };
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "number") return v.is_number();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict();
  if (name == "iterable") return v.is_list() || v.is_dict() || v.is_string() || v.is_undefined();
  if (name == "sequence") return v.is_list() || v.is_dict() || v.is_string() || v.is_undefined();
  if (name == "callable") return v.is_function();
  if (name == "lower") return v.is_string() && py_lower(v.as_string()) == v.as_string();
  if (name == "upper") return v.is_string() && py_upper(v.as_string()) == v.as_string();
  if (name == "even" || name == "odd") {
    if (!v.is_int()) fail("test '{}' expects an integer, got '{}'", name, type_name(v));
    return (v.as_int() % 2 == 0) == (name == "even");
  }
  if (name == "divisibleby") {
    const Value& d = operand();
    if (!v.is_int() || !d.is_int() || d.as_int() == 0) fail("test 'divisibleby' expects non-zero integers");
    return v.as_int() % d.as_int() == 0;
  }
  if (name == "eq" || name == "equalto" || name == "==") return equals(v, operand());
  if (name == "ne" || name == "!=") return !equals(v, operand());
  if (name == "lt" || name == "lessthan" || name == "<") return compare(v, operand()) < 0;
  if (name == "le" || name == "<=") return compare(v, operand()) <= 0;
  if (name == "gt" || name == "greaterthan" || name == ">") return compare(v, operand()) > 0;
  if (name == "ge" || name == ">=") return compare(v, operand()) >= 0;
  if (name == "in") return contains(operand(), v);
  if (name == "sameas") {
    const Value& o = operand();
    if (v.kind() != o.kind()) return false;
    if (v.is_none() || v.is_bool() || v.is_int()) return equals(v, o);
    return v.is_mapping() && &v.as_dict() == &o.as_dict();
  }
  fail("unsupported test '{}'", name);
}

}  // namespace whale::jinja
