#include "grammar/schema_compiler.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string_view>

#include "grammar/grammar_finalize.h"
#include "grammar/integer_range.h"
#include "grammar/string_format.h"

namespace whale::grammar {
namespace {

using nlohmann::ordered_json;

// clang-format off
const std::set<std::string_view> kAnnotations = {
    "title", "description", "default", "examples", "$comment", "$schema", "$id", "deprecated", "readOnly",
    "writeOnly", "$defs", "definitions"};
const std::set<std::string_view> kSupported = {
    "type", "properties", "required", "additionalProperties", "enum", "const", "items", "minItems", "maxItems",
    "anyOf", "oneOf", "allOf", "$ref", "format", "minLength", "maxLength", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "uniqueItems"};
// clang-format on
constexpr int kMaxSchemaNesting = 128;  // bounds the compiler's recursion (a request's stack)
constexpr const char* kCompositions[] = {"$ref", "anyOf", "oneOf", "allOf"};
constexpr const char* kBoundKeywords[] = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"};

bool is_annotation(std::string_view key) { return kAnnotations.count(key) > 0; }

// "~" and "/" escaped as a JSON pointer token.
std::string pointer_token(std::string_view name) {
  std::string out;
  for (const char c : name) out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
  return out;
}

[[noreturn]] void refuse(const std::string& at, const std::string& what) {
  throw SchemaError(fmt::format("JSON schema {} (at {})", what, at));
}

[[noreturn]] void unsupported(const std::string& at, std::string_view keyword, std::string_view detail = "") {
  refuse(at, fmt::format("keyword '{}'{} is not supported", keyword, detail));
}

class Compiler {
 public:
  explicit Compiler(const ordered_json& root) : root_(root) {}

  JsonGrammar& grammar() { return g_; }
  uint32_t compile(const ordered_json& s, const std::string& at);
  uint32_t any_object();  // an object with any keys and values

 private:
  uint32_t add(ValueKind kind, uint32_t spec = 0) {
    g_.nodes.push_back({.kind = kind, .spec = spec});
    return uint32_t(g_.nodes.size() - 1);
  }
  uint32_t add_union(std::vector<uint32_t> alternatives) {
    const uint32_t node = add(ValueKind::kUnion);
    g_.nodes[node].alternatives = std::move(alternatives);
    return node;
  }
  uint32_t add_literal(std::vector<std::string> values, int64_t rest = -1) {
    g_.literals.push_back({.values = std::move(values), .rest = rest});
    return add(ValueKind::kLiteral, uint32_t(g_.literals.size() - 1));
  }
  uint32_t any();      // any JSON value
  uint32_t nothing();  // no value (the schema false)
  uint32_t compile_keywords(const ordered_json& s, const std::string& at);
  uint32_t compile_ref(const ordered_json& s, const std::string& at);
  uint32_t compile_composition(const ordered_json& s, const std::string& at, const char* keyword);
  uint32_t compile_literal(const ordered_json& s, const std::string& at);
  uint32_t compile_typed(const ordered_json& s, const std::string& at);
  uint32_t compile_string(const ordered_json& s, const std::string& at);
  uint32_t compile_integer(const ordered_json& s, const std::string& at);
  uint32_t compile_object(const ordered_json& s, const std::string& at);
  uint32_t compile_array(const ordered_json& s, const std::string& at);
  uint32_t count(const ordered_json& s, const char* keyword, const std::string& at, uint32_t absent) const;

  const ordered_json& root_;
  JsonGrammar g_;
  std::map<std::string, uint32_t> refs_;  // $ref → its node
  int64_t any_ = -1, any_object_ = -1;
  int nesting_ = 0;  // schemas being compiled, one inside the other
};

uint32_t Compiler::any() {
  if (any_ >= 0) return uint32_t(any_);
  const uint32_t node = add(ValueKind::kUnion);
  any_ = node;
  g_.arrays.push_back({.items = node});
  const uint32_t array = add(ValueKind::kArray, uint32_t(g_.arrays.size() - 1));
  g_.strings.push_back({});
  const uint32_t string = add(ValueKind::kString, uint32_t(g_.strings.size() - 1));
  const uint32_t number = add(ValueKind::kNumber);
  const uint32_t boolean = add_literal({"true", "false"});
  const uint32_t null = add_literal({"null"});
  const uint32_t object = any_object();
  g_.nodes[node].alternatives = {object, array, string, number, boolean, null};
  return node;
}

uint32_t Compiler::any_object() {
  if (any_object_ >= 0) return uint32_t(any_object_);
  g_.objects.push_back({});
  const uint32_t spec = uint32_t(g_.objects.size() - 1);
  any_object_ = add(ValueKind::kObject, spec);
  g_.objects[spec].additional = any();
  return uint32_t(any_object_);
}

uint32_t Compiler::nothing() { return add_union({}); }

uint32_t Compiler::compile(const ordered_json& s, const std::string& at) {
  if (s.is_boolean()) return s.get<bool>() ? any() : nothing();
  if (nesting_ >= kMaxSchemaNesting) refuse(at, fmt::format("nests more than {} schemas deep", kMaxSchemaNesting));
  ++nesting_;
  const uint32_t node = compile_keywords(s, at);
  --nesting_;
  return node;
}

uint32_t Compiler::compile_keywords(const ordered_json& s, const std::string& at) {
  if (!s.is_object()) refuse(at, "must be an object or a boolean");
  for (const auto& [key, value] : s.items())
    if (!is_annotation(key) && !kSupported.count(key)) unsupported(at, key);
  if (const auto it = s.find("uniqueItems"); it != s.end() && !(it->is_boolean() && !it->get<bool>()))
    unsupported(at, "uniqueItems", ": true");
  for (const char* keyword : kCompositions) {
    if (!s.contains(keyword)) continue;
    for (const auto& [key, value] : s.items())
      if (key != keyword && !is_annotation(key)) unsupported(at, keyword, fmt::format(" alongside '{}'", key));
    return std::string_view(keyword) == "$ref" ? compile_ref(s, at) : compile_composition(s, at, keyword);
  }
  if (s.contains("enum") || s.contains("const")) return compile_literal(s, at);
  return compile_typed(s, at);
}

uint32_t Compiler::compile_ref(const ordered_json& s, const std::string& at) {
  const ordered_json& ref = s["$ref"];
  if (!ref.is_string()) refuse(at, "'$ref' must be a string");
  const std::string target = ref.get<std::string>();
  if (!target.starts_with("#")) unsupported(at, "$ref", fmt::format(" to '{}' (only local references #/...)", target));
  if (const auto it = refs_.find(target); it != refs_.end()) return it->second;
  // The node exists before its target is compiled, so that the target may refer back to it (recursion).
  const uint32_t node = add_union({});
  refs_[target] = node;
  const ordered_json* resolved = nullptr;
  try {
    resolved = &root_.at(ordered_json::json_pointer(target.substr(1)));
  } catch (const std::exception&) {
    refuse(at, fmt::format("'$ref' '{}' does not resolve in the schema", target));
  }
  const uint32_t value = compile(*resolved, target);
  g_.nodes[node].alternatives = {value};
  return node;
}

uint32_t Compiler::compile_composition(const ordered_json& s, const std::string& at, const char* keyword) {
  const ordered_json& list = s[keyword];
  if (!list.is_array() || list.empty()) refuse(at, fmt::format("'{}' must be a non-empty array of schemas", keyword));
  if (std::string_view(keyword) == "allOf") {
    if (list.size() > 1) unsupported(at, "allOf", " with more than one schema");
    return compile(list[0], at + "/allOf/0");
  }
  std::vector<uint32_t> alternatives;
  for (size_t i = 0; i < list.size(); ++i)
    alternatives.push_back(compile(list[i], fmt::format("{}/{}/{}", at, keyword, i)));
  return add_union(std::move(alternatives));
}

uint32_t Compiler::compile_literal(const ordered_json& s, const std::string& at) {
  std::vector<ordered_json> values;
  if (const auto e = s.find("enum"); e != s.end()) {
    if (!e->is_array() || e->empty()) refuse(at, "'enum' must be a non-empty array");
    values.assign(e->begin(), e->end());
  }
  if (const auto c = s.find("const"); c != s.end()) {
    if (s.contains("enum") && std::find(values.begin(), values.end(), *c) == values.end())
      refuse(at, "'const' is not one of 'enum'");
    values = {*c};
  }
  std::vector<std::string> texts;
  std::set<std::string> seen;
  for (const ordered_json& v : values)
    if (std::string text = v.dump(); seen.insert(text).second) texts.push_back(std::move(text));
  // What the schema says besides enum/const filters the values (once the grammar is complete).
  ordered_json rest = s;
  rest.erase("enum");
  rest.erase("const");
  bool constrained = false;
  for (const auto& [key, value] : rest.items()) constrained = constrained || !is_annotation(key);
  return add_literal(std::move(texts), constrained ? int64_t(compile(rest, at)) : -1);
}

uint32_t Compiler::compile_typed(const ordered_json& s, const std::string& at) {
  static const char* kTypes[] = {"null", "boolean", "object", "array", "number", "integer", "string"};
  std::set<std::string> types;
  if (const auto t = s.find("type"); t != s.end()) {
    const std::vector<ordered_json> names =
        t->is_array() ? std::vector<ordered_json>(t->begin(), t->end()) : std::vector<ordered_json>{*t};
    for (const ordered_json& name : names) {
      if (!name.is_string() ||
          std::find(std::begin(kTypes), std::end(kTypes), name.get<std::string>()) == std::end(kTypes))
        refuse(at, fmt::format("'type' {} is not one of null, boolean, object, array, number, integer, string",
                               name.dump()));
      types.insert(name.get<std::string>());
    }
    if (types.empty()) refuse(at, "'type' must name at least one type");
  } else {
    types.insert(std::begin(kTypes), std::end(kTypes));
  }
  std::vector<uint32_t> alternatives;
  if (types.count("null")) alternatives.push_back(add_literal({"null"}));
  if (types.count("boolean")) alternatives.push_back(add_literal({"true", "false"}));
  if (types.count("number")) {  // integers are numbers too
    for (const char* keyword : kBoundKeywords)
      if (s.contains(keyword)) unsupported(at, keyword, " for type 'number' (only for 'integer')");
    alternatives.push_back(add(ValueKind::kNumber));
  } else if (types.count("integer")) {
    alternatives.push_back(compile_integer(s, at));
  }
  if (types.count("string")) alternatives.push_back(compile_string(s, at));
  if (types.count("object")) alternatives.push_back(compile_object(s, at));
  if (types.count("array")) alternatives.push_back(compile_array(s, at));
  return alternatives.size() == 1 ? alternatives[0] : add_union(std::move(alternatives));
}

uint32_t Compiler::count(const ordered_json& s, const char* keyword, const std::string& at, uint32_t absent) const {
  const auto it = s.find(keyword);
  if (it == s.end()) return absent;
  const bool integral =
      it->is_number_unsigned() || (it->is_number_integer() && it->get<int64_t>() >= 0) ||
      (it->is_number_float() && it->get<double>() >= 0 && std::floor(it->get<double>()) == it->get<double>());
  if (!integral) refuse(at, fmt::format("'{}' must be a non-negative integer", keyword));
  return uint32_t(std::min<double>(it->get<double>(), double(kNoLimit - 1)));
}

uint32_t Compiler::compile_string(const ordered_json& s, const std::string& at) {
  StringSpec spec{.min_length = count(s, "minLength", at, 0), .max_length = count(s, "maxLength", at, kNoLimit)};
  if (spec.min_length > spec.max_length) refuse(at, "'minLength' exceeds 'maxLength'");
  if (const auto f = s.find("format"); f != s.end()) {
    if (!f->is_string()) refuse(at, "'format' must be a string");
    const std::optional<StringFormat> format = format_from_name(f->get<std::string>());
    if (!format)
      unsupported(at, "format",
                  fmt::format(" '{}' (supported: date, time, date-time, uuid, email)", f->get<std::string>()));
    for (const char* keyword : {"minLength", "maxLength"})
      if (s.contains(keyword)) unsupported(at, keyword, " together with 'format'");
    spec.format = *format;
  }
  g_.strings.push_back(spec);
  return add(ValueKind::kString, uint32_t(g_.strings.size() - 1));
}

uint32_t Compiler::compile_integer(const ordered_json& s, const std::string& at) {
  auto bound = [&](const char* keyword) -> std::optional<double> {
    const auto it = s.find(keyword);
    if (it == s.end() || it->is_boolean()) return std::nullopt;
    if (!it->is_number()) refuse(at, fmt::format("'{}' must be a number", keyword));
    const double v = it->get<double>();
    if (std::fabs(v) > double(kMaxIntegerBound)) unsupported(at, keyword, " beyond ±2^53");
    return v;
  };
  auto flag = [&](const char* keyword) {
    return s.contains(keyword) && s[keyword].is_boolean() && s[keyword].get<bool>();
  };
  std::optional<double> lo, hi;  // inclusive integer bounds
  if (auto m = bound("minimum")) lo = flag("exclusiveMinimum") ? std::floor(*m) + 1 : std::ceil(*m);  // draft 4
  if (auto m = bound("maximum")) hi = flag("exclusiveMaximum") ? std::ceil(*m) - 1 : std::floor(*m);
  if (auto m = bound("exclusiveMinimum")) lo = std::max(lo.value_or(-INFINITY), std::floor(*m) + 1);
  if (auto m = bound("exclusiveMaximum")) hi = std::min(hi.value_or(INFINITY), std::ceil(*m) - 1);
  if (lo && hi && *lo > *hi) refuse(at, "has no integer between its minimum and maximum");
  g_.integers.push_back({.minimum = lo ? std::optional<int64_t>(int64_t(*lo)) : std::nullopt,
                         .maximum = hi ? std::optional<int64_t>(int64_t(*hi)) : std::nullopt});
  return add(ValueKind::kInteger, uint32_t(g_.integers.size() - 1));
}

uint32_t Compiler::compile_object(const ordered_json& s, const std::string& at) {
  ObjectSpec o;
  const ordered_json empty = ordered_json::object();
  const auto p = s.find("properties");
  const ordered_json& properties = p == s.end() ? empty : *p;
  if (!properties.is_object()) refuse(at, "'properties' must be an object");
  if (properties.size() > size_t(kMaxProperties))
    refuse(at, fmt::format("has {} properties; at most {} are supported", properties.size(), kMaxProperties));
  std::set<std::string> required;
  if (const auto r = s.find("required"); r != s.end()) {
    if (!r->is_array()) refuse(at, "'required' must be an array of strings");
    for (const ordered_json& name : *r) {
      if (!name.is_string()) refuse(at, "'required' must be an array of strings");
      if (!properties.contains(name.get<std::string>()))
        unsupported(at, "required",
                    fmt::format(" for '{}', which 'properties' does not list", name.get<std::string>()));
      required.insert(name.get<std::string>());
    }
  }
  for (const auto& [name, schema] : properties.items()) {
    std::string key = ordered_json(name).dump();
    key = key.substr(1, key.size() - 2);
    for (size_t i = 0; i < key.size(); ++i)
      if (key[i] == '\\' && (++i, key[i] != '"' && key[i] != '\\'))
        refuse(at, fmt::format("property name {} has a control character (not supported)", ordered_json(name).dump()));
    const uint32_t value = compile(schema, at + "/properties/" + pointer_token(name));
    o.properties.push_back({.key = std::move(key), .value = value, .required = required.count(name) > 0});
  }
  if (const auto a = s.find("additionalProperties"); a == s.end() || (a->is_boolean() && a->get<bool>()))
    o.additional = any();
  else if (!a->is_boolean())
    o.additional = compile(*a, at + "/additionalProperties");
  g_.objects.push_back(std::move(o));
  return add(ValueKind::kObject, uint32_t(g_.objects.size() - 1));
}

uint32_t Compiler::compile_array(const ordered_json& s, const std::string& at) {
  if (s.contains("items") && s["items"].is_array()) unsupported(at, "items", " as an array (tuple)");
  ArraySpec a{.min_items = count(s, "minItems", at, 0), .max_items = count(s, "maxItems", at, kNoLimit)};
  if (a.min_items > a.max_items) refuse(at, "'minItems' exceeds 'maxItems'");
  a.items = s.contains("items") ? compile(s["items"], at + "/items") : any();
  g_.arrays.push_back(a);
  return add(ValueKind::kArray, uint32_t(g_.arrays.size() - 1));
}

}  // namespace

std::shared_ptr<const JsonGrammar> compile_json_schema(const ordered_json& schema) {
  Compiler c(schema);
  c.grammar().root = c.compile(schema, "#");
  finalize_grammar(c.grammar());
  return std::make_shared<const JsonGrammar>(std::move(c.grammar()));
}

std::shared_ptr<const JsonGrammar> json_object_grammar() {
  const ordered_json none;
  Compiler c(none);
  c.grammar().root = c.any_object();
  finalize_grammar(c.grammar());
  return std::make_shared<const JsonGrammar>(std::move(c.grammar()));
}

}  // namespace whale::grammar
