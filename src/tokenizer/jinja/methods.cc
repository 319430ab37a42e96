#include "tokenizer/jinja/methods.h"

#include "core/error.h"
#include "tokenizer/jinja/text.h"

namespace whale::jinja {
namespace {

std::optional<std::string> opt_string(const Value* v, const std::string& method) {
  if (!v || v->is_none() || v->is_undefined()) return std::nullopt;
  if (!v->is_string()) fail("str.{}() argument must be a string, got '{}'", method, type_name(*v));
  return v->as_string();
}

const std::string& string_arg(const CallArgs& a, size_t i, const std::string& name, const std::string& method) {
  const Value* v = a.get(i, name);
  if (!v || !v->is_string()) fail("str.{}() needs a string argument '{}'", method, name);
  return v->as_string();
}

int64_t int_arg(const CallArgs& a, size_t i, const std::string& name, int64_t dflt) {
  const Value* v = a.get(i, name);
  if (!v || v->is_none()) return dflt;
  if (!v->is_int()) fail("expected an integer for '{}', got '{}'", name, type_name(*v));
  return v->as_int();
}

// startswith/endswith accept a string or a tuple (list) of strings.
bool affix_match(const std::string& s, const Value& affix, bool prefix, const std::string& method) {
  if (affix.is_list()) {
    for (const auto& a : affix.as_list())
      if (affix_match(s, a, prefix, method)) return true;
    return false;
  }
  if (!affix.is_string()) fail("str.{}() argument must be a string or tuple, got '{}'", method, type_name(affix));
  const std::string& x = affix.as_string();
  if (x.size() > s.size()) return false;
  return prefix ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0;
}

std::optional<Value> string_method(const std::string& s, const std::string& name, const CallArgs& a,
                                   const Limits& limits) {
  if (name == "strip" || name == "lstrip" || name == "rstrip")
    return Value(py_strip(s, opt_string(a.get(0, "chars"), name), name != "rstrip", name != "lstrip"));
  if (name == "split") {
    List parts;
    for (auto& p : py_split(s, opt_string(a.get(0, "sep"), name), int_arg(a, 1, "maxsplit", -1), limits.max_items))
      parts.emplace_back(std::move(p));
    return Value::list(std::move(parts));
  }
  if (name == "startswith" || name == "endswith") {
    const Value* affix = a.get(0, "prefix");
    if (!affix) fail("str.{}() needs an argument", name);
    return Value(affix_match(s, *affix, name == "startswith", name));
  }
  if (name == "replace")
    return Value(py_replace(s, string_arg(a, 0, "old", name), string_arg(a, 1, "new", name), int_arg(a, 2, "count", -1),
                            limits.max_output_bytes));
  if (name == "upper") return Value(py_upper(s));
  if (name == "lower") return Value(py_lower(s));
  if (name == "title") return Value(py_title(s));
  if (name == "capitalize") return Value(py_capitalize(s));
  if (name == "find") {
    size_t hit = s.find(string_arg(a, 0, "sub", name));
    return Value(hit == std::string::npos ? int64_t(-1) : int64_t(utf8_length(s.substr(0, hit))));
  }
  if (name == "join") {
    const Value* items = a.get(0, "iterable");
    if (!items) fail("str.join() needs an argument");
    std::string out;
    bool first = true;
    for (const auto& v : iterate(*items, limits.max_items)) {
      if (!v.is_string()) fail("str.join() expects strings, got '{}'", type_name(v));
      out += (first ? "" : s) + v.as_string();
      check_string_size(out.size(), limits.max_output_bytes);
      first = false;
    }
    return Value(std::move(out));
  }
  return std::nullopt;
}

std::optional<Value> dict_method(const Dict& d, const std::string& name, const CallArgs& a) {
  if (name == "items") {
    List out;
    for (const auto& [k, v] : d.items) out.push_back(Value::list({Value(k), v}));
    return Value::list(std::move(out));
  }
  if (name == "keys" || name == "values") {
    List out;
    for (const auto& [k, v] : d.items) out.push_back(name == "keys" ? Value(k) : v);
    return Value::list(std::move(out));
  }
  if (name == "get") {
    const Value* key = a.get(0, "key");
    if (!key) fail("dict.get() needs a key");
    const Value* dflt = a.get(1, "default");
    const Value* hit = key->is_string() ? d.find(key->as_string()) : nullptr;
    return hit ? *hit : dflt ? *dflt : Value::none();
  }
  return std::nullopt;
}

}  // namespace

std::optional<Value> call_method(const Value& obj, const std::string& name, const CallArgs& args,
                                 const Limits& limits) {
  if (obj.is_string()) return string_method(obj.as_string(), name, args, limits);
  if (obj.is_dict()) return dict_method(obj.as_dict(), name, args);
  return std::nullopt;
}

}  // namespace whale::jinja
