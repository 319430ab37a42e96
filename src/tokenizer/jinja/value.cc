#include "tokenizer/jinja/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "core/error.h"
#include "tokenizer/jinja/text.h"

namespace whale::jinja {

const Value* Dict::find(const std::string& key) const {
  for (const auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}

void Dict::set(const std::string& key, Value value) {
  for (auto& [k, v] : items) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  items.emplace_back(key, std::move(value));
}

const Value* CallArgs::kwarg(const std::string& name) const {
  for (const auto& [k, v] : kwargs)
    if (k == name) return &v;
  return nullptr;
}

const Value* CallArgs::get(size_t index, const std::string& name) const {
  if (index < args.size()) return &args[index];
  return kwarg(name);
}

const std::shared_ptr<const std::string>& Value::empty_string() {
  static const auto empty = std::make_shared<const std::string>();
  return empty;
}

Value Value::undefined(std::string name) {
  Value v;
  v.str_ = std::make_shared<const std::string>(std::move(name));
  return v;
}

Value Value::none() {
  Value v;
  v.kind_ = Kind::kNone;
  return v;
}

Value Value::container(Kind kind, std::shared_ptr<List> list, std::shared_ptr<Dict> dict) {
  Value v;
  v.kind_ = kind;
  int depth = 0;
  auto add = [&](const Value& item) {
    depth = std::max(depth, int(item.depth_));
    v.holds_namespace_ = v.holds_namespace_ || item.holds_namespace_;
  };
  if (list)
    for (const Value& item : *list) add(item);
  if (dict)
    for (const auto& [k, item] : dict->items) add(item);
  if (depth >= kMaxValueDepth) fail("lists, dicts and namespaces nested deeper than {} levels", kMaxValueDepth);
  if (kind == Kind::kNamespace && v.holds_namespace_) fail("a namespace cannot hold a namespace");
  v.depth_ = uint16_t(depth + 1);
  v.holds_namespace_ = v.holds_namespace_ || kind == Kind::kNamespace;
  v.list_ = std::move(list);
  v.dict_ = std::move(dict);
  return v;
}

Value Value::list(List items) { return container(Kind::kList, std::make_shared<List>(std::move(items)), nullptr); }

Value Value::dict(Dict items) { return container(Kind::kDict, nullptr, std::make_shared<Dict>(std::move(items))); }

Value Value::make_namespace(Dict items) {
  return container(Kind::kNamespace, nullptr, std::make_shared<Dict>(std::move(items)));
}

Value Value::function(std::string name, Function fn) {
  Value v;
  v.kind_ = Kind::kFunction;
  v.str_ = std::make_shared<const std::string>(std::move(name));
  v.fn_ = std::make_shared<Function>(std::move(fn));
  return v;
}

Value Value::from_json(const nlohmann::json& json) { return from_json_at(json, 0); }

Value Value::from_json_at(const nlohmann::json& json, int depth) {
  if (depth >= kMaxValueDepth) fail("JSON nested deeper than {} levels", kMaxValueDepth);
  switch (json.type()) {
    case nlohmann::json::value_t::null:
      return none();
    case nlohmann::json::value_t::boolean:
      return Value(json.get<bool>());
    case nlohmann::json::value_t::number_integer:
      return Value(json.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned:
      return Value(int64_t(json.get<uint64_t>()));
    case nlohmann::json::value_t::number_float:
      return Value(json.get<double>());
    case nlohmann::json::value_t::string:
      return Value(json.get<std::string>());
    case nlohmann::json::value_t::array: {
      List items;
      for (const auto& item : json) items.push_back(from_json_at(item, depth + 1));
      return list(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      Dict items;
      for (const auto& [k, item] : json.items()) items.items.emplace_back(k, from_json_at(item, depth + 1));
      return dict(std::move(items));
    }
    default:
      fail("unsupported JSON value of type '{}'", json.type_name());
  }
}

bool truthy(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone:
      return false;
    case Value::Kind::kBool:
    case Value::Kind::kInt:
      return v.as_int() != 0;
    case Value::Kind::kFloat:
      return v.as_float() != 0.0;
    case Value::Kind::kString:
      return !v.as_string().empty();
    case Value::Kind::kList:
      return !v.as_list().empty();
    case Value::Kind::kDict:
      return !v.as_dict().items.empty();
    case Value::Kind::kNamespace:
    case Value::Kind::kFunction:
      return true;
  }
  return false;
}

std::string format_float(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string sci(buf, res.ptr);  // "-d.ddde+XX", shortest round-trip digits
  std::string sign;
  if (sci[0] == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  size_t e_pos = sci.find('e');
  std::string digits = sci.substr(0, 1) + (e_pos > 2 ? sci.substr(2, e_pos - 2) : "");
  int decpt = std::stoi(sci.substr(e_pos + 1)) + 1;  // digits before the decimal point
  int n = int(digits.size());
  std::string out;
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      out = "0." + std::string(size_t(-decpt), '0') + digits;
    } else if (decpt >= n) {
      out = digits + std::string(size_t(decpt - n), '0') + ".0";
    } else {
      out = digits.substr(0, size_t(decpt)) + "." + digits.substr(size_t(decpt));
    }
  } else {
    int exp = decpt - 1;
    out = digits.substr(0, 1) + (n > 1 ? "." + digits.substr(1) : "") + (exp < 0 ? "e-" : "e+") +
          (std::abs(exp) < 10 ? "0" : "") + std::to_string(std::abs(exp));
  }
  return sign + out;
}

static std::string repr_string(const std::string& s) {
  bool has_single = s.find('\'') != std::string::npos;
  bool has_double = s.find('"') != std::string::npos;
  char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (unsigned char c : s) {
    if (c == quote || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += char(c);
    }
  }
  return out + quote;
}

namespace {

// Appends str(v) (or repr(v)) to `out`, refusing output over max_bytes and nesting deeper than kMaxValueDepth.
void write_value(const Value& v, bool as_repr, size_t max_bytes, int depth, std::string& out) {
  if (depth > 2 * kMaxValueDepth) fail("value nested deeper than {} levels", 2 * kMaxValueDepth);
  auto put = [&](std::string_view text) {
    check_string_size(out.size() + text.size(), max_bytes);
    out += text;
  };
  auto put_items = [&](const Dict& d) {
    put("{");
    for (size_t i = 0; i < d.items.size(); ++i) {
      if (i) put(", ");
      put(repr_string(d.items[i].first));
      put(": ");
      write_value(d.items[i].second, true, max_bytes, depth + 1, out);
    }
    put("}");
  };
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return put(as_repr ? "Undefined" : "");
    case Value::Kind::kNone:
      return put("None");
    case Value::Kind::kBool:
      return put(v.as_bool() ? "True" : "False");
    case Value::Kind::kInt:
      return put(std::to_string(v.as_int()));
    case Value::Kind::kFloat:
      return put(format_float(v.as_float()));
    case Value::Kind::kString:
      return as_repr ? put(repr_string(v.as_string())) : put(v.as_string());
    case Value::Kind::kList:
      put("[");
      for (size_t i = 0; i < v.as_list().size(); ++i) {
        if (i) put(", ");
        write_value(v.as_list()[i], true, max_bytes, depth + 1, out);
      }
      return put("]");
    case Value::Kind::kDict:
      return put_items(v.as_dict());
    case Value::Kind::kNamespace:
      put("<Namespace ");
      put_items(v.as_dict());
      return put(">");
    case Value::Kind::kFunction:
      put("<function ");
      put(v.name());
      return put(">");
  }
}

}  // namespace

std::string repr(const Value& v, size_t max_bytes) {
  std::string out;
  write_value(v, true, max_bytes, 0, out);
  return out;
}

std::string to_str(const Value& v, size_t max_bytes) {
  if (v.is_string()) return v.as_string();
  std::string out;
  write_value(v, false, max_bytes, 0, out);
  return out;
}

std::string type_name(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return "Undefined";
    case Value::Kind::kNone:
      return "NoneType";
    case Value::Kind::kBool:
      return "bool";
    case Value::Kind::kInt:
      return "int";
    case Value::Kind::kFloat:
      return "float";
    case Value::Kind::kString:
      return "str";
    case Value::Kind::kList:
      return "list";
    case Value::Kind::kDict:
      return "dict";
    case Value::Kind::kNamespace:
      return "Namespace";
    case Value::Kind::kFunction:
      return "function";
  }
  return "?";
}

bool equals(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_float() == b.as_float();
    return a.as_int() == b.as_int();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone:
      return true;
    case Value::Kind::kString:
      return a.as_string() == b.as_string();
    case Value::Kind::kList: {
      const List& x = a.as_list();
      const List& y = b.as_list();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i)
        if (!equals(x[i], y[i])) return false;
      return true;
    }
    case Value::Kind::kDict: {
      const Dict& x = a.as_dict();
      const Dict& y = b.as_dict();
      if (x.items.size() != y.items.size()) return false;
      for (const auto& [k, v] : x.items) {
        const Value* other = y.find(k);
        if (!other || !equals(v, *other)) return false;
      }
      return true;
    }
    case Value::Kind::kNamespace:
      return &a.as_dict() == &b.as_dict();  // identity
    case Value::Kind::kFunction:
      return &a.as_function() == &b.as_function();
    default:
      return a.as_int() == b.as_int();
  }
}

int compare(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) {
      double x = a.as_float(), y = b.as_float();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    int64_t x = a.as_int(), y = b.as_int();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    int c = a.as_string().compare(b.as_string());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.is_list() && b.is_list()) {
    const List& x = a.as_list();
    const List& y = b.as_list();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (int c = compare(x[i], y[i])) return c;
    }
    return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
  }
  fail("cannot order values of types '{}' and '{}'", type_name(a), type_name(b));
}

List iterate(const Value& v, int64_t max_items) {
  const size_t n = v.is_list()     ? v.as_list().size()
                   : v.is_dict()   ? v.as_dict().items.size()
                   : v.is_string() ? utf8_length(v.as_string())
                                   : 0;
  if (int64_t(n) > max_items) fail("iterating over {} items exceeds the limit of {} items", n, max_items);
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return {};
    case Value::Kind::kList:
      return v.as_list();
    case Value::Kind::kDict: {
      List keys;
      for (const auto& item : v.as_dict().items) keys.emplace_back(item.first);
      return keys;
    }
    case Value::Kind::kString: {
      const std::string& s = v.as_string();
      List chars;
      chars.reserve(n);
      for (size_t i = 0, end; i < s.size(); i = end) {
        end = utf8_char_end(s, i);
        chars.emplace_back(s.substr(i, end - i));
      }
      return chars;
    }
    default:
      fail("'{}' object is not iterable", type_name(v));
  }
}

}  // namespace whale::jinja
