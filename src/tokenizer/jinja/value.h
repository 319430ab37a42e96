// Values of the Jinja interpreter: Python-like dynamic values (None, bool, int, float, str, list, dict,
// namespace, callable) plus Jinja's default Undefined. Lists and dicts are shared and never mutated
// after creation, except namespaces (the one mutable object chat templates may assign to).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace whale::jinja {

class Value;
using List = std::vector<Value>;

// Insertion-ordered mapping with string keys, like a Python dict built from JSON.
struct Dict {
  std::vector<std::pair<std::string, Value>> items;

  const Value* find(const std::string& key) const;
  void set(const std::string& key, Value value);
};

// Arguments of a call: positional then keyword, as written at the call site.
struct CallArgs {
  std::vector<Value> args;
  std::vector<std::pair<std::string, Value>> kwargs;

  const Value* kwarg(const std::string& name) const;
  // Positional argument `index`, else keyword `name`, else nullptr.
  const Value* get(size_t index, const std::string& name) const;
};

using Function = std::function<Value(const CallArgs&)>;

constexpr int kMaxValueDepth = 100;  // nesting of lists, dicts and namespaces (JSON tool schemas use ~10)

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kNamespace, kFunction };

  Value() = default;  // undefined without a name
  Value(bool b) : kind_(Kind::kBool), int_(b) {}
  Value(int v) : kind_(Kind::kInt), int_(v) {}
  Value(int64_t v) : kind_(Kind::kInt), int_(v) {}
  Value(double v) : kind_(Kind::kFloat), float_(v) {}
  Value(std::string s) : kind_(Kind::kString), str_(std::make_shared<const std::string>(std::move(s))) {}
  Value(const char* s) : Value(std::string(s)) {}

  static Value undefined(std::string name);
  static Value none();
  // Containers nested deeper than kMaxValueDepth, and a namespace inside a namespace, are a whale::Error: so
  // every walk over a value (str(), ==, tojson, its destruction) recurses a bounded number of levels.
  static Value list(List items);
  static Value dict(Dict items);
  static Value make_namespace(Dict items);
  static Value function(std::string name, Function fn);
  static Value from_json(const nlohmann::json& json);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_float() const { return kind_ == Kind::kFloat; }
  bool is_number() const { return is_int() || is_float() || is_bool(); }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_namespace() const { return kind_ == Kind::kNamespace; }
  bool is_mapping() const { return is_dict() || is_namespace(); }
  bool is_function() const { return kind_ == Kind::kFunction; }

  bool as_bool() const { return int_ != 0; }
  int64_t as_int() const { return is_float() ? int64_t(float_) : int_; }
  double as_float() const { return is_float() ? float_ : double(int_); }
  const std::string& as_string() const { return *str_; }
  // Undefined: why the value is missing, as an error message ("'x' is undefined"); function: its name.
  const std::string& name() const { return *str_; }
  const List& as_list() const { return *list_; }
  const Dict& as_dict() const { return *dict_; }
  Dict& namespace_dict() const { return *dict_; }
  const Function& as_function() const { return *fn_; }
  // Whether a namespace is in this value (one cannot be set into a namespace, so none holds itself).
  bool holds_namespace() const { return holds_namespace_; }

 private:
  static const std::shared_ptr<const std::string>& empty_string();
  static Value container(Kind kind, std::shared_ptr<List> list, std::shared_ptr<Dict> dict);
  static Value from_json_at(const nlohmann::json& json, int depth);

  Kind kind_ = Kind::kUndefined;
  // Levels of containers (0 for a scalar). A namespace counts its contents when it was created; as those hold
  // no namespace, whatever is set later, no value is truly deeper than twice kMaxValueDepth.
  uint16_t depth_ = 0;
  bool holds_namespace_ = false;
  int64_t int_ = 0;
  double float_ = 0;
  std::shared_ptr<const std::string> str_ = empty_string();  // shared: copies of values stay cheap
  std::shared_ptr<List> list_;
  std::shared_ptr<Dict> dict_;
  std::shared_ptr<Function> fn_;
};

// Python semantics of the value operations templates rely on.
bool truthy(const Value& v);
// str(v) (undefined renders as "") and repr(v) (used inside str() of containers). A result over max_bytes, or
// containers nested deeper than 2 * kMaxValueDepth (a namespace may hold itself), is a whale::Error.
std::string to_str(const Value& v, size_t max_bytes);
std::string repr(const Value& v, size_t max_bytes);
std::string type_name(const Value& v);
bool equals(const Value& a, const Value& b);
int compare(const Value& a, const Value& b);  // <0, 0, >0; throws whale::Error if not orderable
// Elements that `for x in v` visits: list items, dict keys, string characters; undefined gives none. More
// than max_items of them is a whale::Error.
List iterate(const Value& v, int64_t max_items);
// Python repr of a float: shortest round-trip digits, "1.0", "1e+16", "inf", "nan".
std::string format_float(double v);

}  // namespace whale::jinja
