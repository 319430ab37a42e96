// The JSON-schema grammar byte by byte: per schema feature, valid instances are complete documents, and each
// near-miss is rejected at the exact byte where it stops being a prefix of any valid instance (every byte before
// it accepted). Unsupported keywords are refused by name; $ref, recursion and the nesting bound.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "grammar/recognizer.h"
#include "grammar/schema_compiler.h"

namespace whale::grammar {
namespace {

using nlohmann::ordered_json;

// In a rejected case, "¦" marks the first byte the recognizer must refuse (all before it accepted); at the
// end, it marks a text accepted byte by byte that is not complete.
constexpr std::string_view kMark = "¦";

struct Cases {
  std::vector<std::string> valid, invalid;
};

std::shared_ptr<const JsonGrammar> compile(const std::string& schema) {
  return compile_json_schema(ordered_json::parse(schema));
}

void check(const JsonGrammar& g, const Cases& cases, const std::string& what) {
  const Recognizer r(g);
  for (const std::string& text : cases.valid) {
    GrammarState s = r.start();
    for (size_t i = 0; i < text.size(); ++i)
      ASSERT_TRUE(r.advance(s, std::string_view(text).substr(i, 1)))
          << what << ": " << text << " refused at byte " << i;
    EXPECT_TRUE(r.complete(s)) << what << ": " << text << " is not complete";
  }
  for (const std::string& marked : cases.invalid) {
    const size_t at = marked.find(kMark);
    ASSERT_NE(at, std::string::npos) << "no mark in " << marked;
    const std::string text = marked.substr(0, at) + marked.substr(at + kMark.size());
    GrammarState s = r.start();
    for (size_t i = 0; i < at; ++i)
      ASSERT_TRUE(r.advance(s, std::string_view(text).substr(i, 1)))
          << what << ": " << marked << " refused at byte " << i;
    if (at == text.size()) {
      EXPECT_FALSE(r.complete(s)) << what << ": " << marked << " should be incomplete";
    } else {
      EXPECT_FALSE(r.advance(s, std::string_view(text).substr(at, 1))) << what << ": " << marked << " accepted";
    }
  }
}

void check(const std::string& schema, const Cases& cases) { check(*compile(schema), cases, schema); }

std::string schema_error(const std::string& schema) {
  try {
    compile(schema);
  } catch (const SchemaError& e) {
    return e.what();
  }
  return "";
}

TEST(GrammarJsonSchema, Scalars) {
  check(R"({"type": "string"})",
        {.valid = {R"("")", R"("héllo wörld")", R"("a\"b\\c\/\b\f\n\r\t")", R"("\u00e9\uD83D\uDE00")",
                   "\"\xF0\x9F\x98\x80\"", " \n\"x\""},
         .invalid = {R"("abc¦)", "\"a¦\x01\"", "\"\xC3¦\"", "\"¦\xC0\xAF\"", "\"\xE0¦\x80\x80\"", "\"\xED¦\xA0\x80\"",
                     R"("\¦x")", R"("\u12¦g4")", R"("\uD¦C00")", R"("\uD83D¦")", R"("\uD83D\uD¦83D")", R"("x"¦ )",
                     R"(¦'x')"}});
  check(R"({"type": "integer"})", {.valid = {"0", "-7", "12345678901234567890", " 42"},
                                   .invalid = {"0¦1", "-¦0", "1¦.5", "1¦e3", "-¦", "¦+1", "¦\"1\""}});
  check(R"({"type": "number"})",
        {.valid = {"0", "-0", "1.25", "-3e7", "6.02E+23", "1e-99", "0.000"},
         .invalid = {"0¦1", "1.¦e5", "1.¦", "1e¦", "1e+¦", "1e99¦9", "¦.5", "¦NaN", "-¦Infinity"}});
  check(R"({"type": "boolean"})", {.valid = {"true", "false"}, .invalid = {"tru¦", "t¦ure", "¦1", "true¦s"}});
  check(R"({"type": "null"})", {.valid = {"null"}, .invalid = {"nul¦", "¦None"}});
  check(R"({"type": ["string", "null"]})", {.valid = {"null", R"("x")"}, .invalid = {"¦1", "¦true", "¦{}"}});
  check(R"({"type": ["integer", "boolean"]})", {.valid = {"1", "false"}, .invalid = {"1¦.5", "¦null"}});
}

TEST(GrammarJsonSchema, NumberDigitsAreBounded) {
  const auto g = compile(R"({"type": "number"})");
  const std::string digits(kMaxNumberDigits, '7');
  check(*g, {.valid = {digits, "-" + digits + ".5e10"}, .invalid = {digits + "¦7"}}, "number");
}

TEST(GrammarJsonSchema, ObjectsInSchemaOrderWithRequiredAndOptional) {
  const std::string schema =
      R"({"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
    "email": {"type": "string"}}, "required": ["name", "email"], "additionalProperties": false})";
  check(schema, {.valid = {R"({"name":"a","age":3,"email":"e"})", R"({"name":"a","email":"e"})",
                           "{\n  \"name\": \"a\",\n  \"email\": \"e\"\n}", R"({ "name" : "a" , "email" : "e" })"},
                 .invalid = {R"({"name":"a"¦})", R"({¦})", R"({"¦age":3,"name":"a"})", R"({"¦email":"e","name":"a"})",
                             R"({"name":"a","¦name":"b"})", R"({"name":"a","¦x":1})", R"({"name"¦"a"})",
                             R"({"name":"a",¦})", R"({"name":"a","age":3,¦})", R"({"name":¦3})", R"({"nam¦":1})",
                             R"({"name":"a","email":"e"}¦ )", R"({"name":"a","email":"e"¦,"age":1})"}});
}

TEST(GrammarJsonSchema, AdditionalProperties) {
  check(R"({"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": {"type": "boolean"}})",
        {.valid = {R"({})", R"({"a":1})", R"({"x":true,"a":1,"y":false})", R"({"ab":true})", R"({"\"":true})"},
         .invalid = {R"({"x":¦1})", R"({"a":¦true})", R"({"a":1,"a¦":2})", R"({"a\¦n":true})"}});
  check(R"({"properties": {"a": {"type": "integer"}}})",  // absent: any value
        {.valid = {R"({"b":[1,{"c":null}],"a":2})", R"({"a":-1,"z":"q"})"}, .invalid = {R"({"a":¦"x"})"}});
  check(R"({"type": "object", "additionalProperties": false})", {.valid = {"{}", "{ }"}, .invalid = {R"({¦"a":1})"}});
}

TEST(GrammarJsonSchema, PropertyNamesAreMatchedAsEscaped) {
  check(R"({"type": "object", "properties": {"a\"b": {"type": "integer"}, "ü": {"type": "integer"}},
           "required": ["a\"b"], "additionalProperties": false})",
        {.valid = {R"({"a\"b":1})", R"({"a\"b":1,"ü":2})"}, .invalid = {R"({"a¦":1})", R"({"a\"b":1,"¦u":2})"}});
}

TEST(GrammarJsonSchema, EnumAndConst) {
  check(R"({"enum": ["red", "green", 7, null, [1, 2], {"k": "v"}]})",
        {.valid = {R"("red")", R"("green")", "7", "null", "[1,2]", R"({"k":"v"})"},
         .invalid = {R"("r¦ad")", R"("red¦s")", "7¦0", "[1,¦ 2]", R"("gree¦")"}});
  check(R"({"const": "fixed"})", {.valid = {R"("fixed")"}, .invalid = {R"("fix¦")", R"("fixed¦x")"}});
  // The rest of the schema filters the values: 3 is not a string, "toolong" breaks maxLength.
  check(R"({"type": "string", "maxLength": 4, "enum": ["ab", 3, "toolong"]})",
        {.valid = {R"("ab")"}, .invalid = {"¦3", R"("¦toolong")"}});
  EXPECT_NE(schema_error(R"({"type": "integer", "enum": ["a", "b"]})").find("admits no value"), std::string::npos);
}

TEST(GrammarJsonSchema, Arrays) {
  check(R"({"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3})",
        {.valid = {"[1]", "[1,2,3]", "[ 1 , 2 ]"},
         .invalid = {"[¦]", "[1,2,3¦,", "[1,¦]", "[1 ¦2]", "[¦\"a\"]", "[1,2¦"}});
  check(R"({"type": "array"})", {.valid = {"[]", R"([1,"a",[null],{"b":true}])"}, .invalid = {"[1,¦,2]"}});
  check(R"({"type": "array", "maxItems": 0})", {.valid = {"[]"}, .invalid = {"[¦1]"}});
}

TEST(GrammarJsonSchema, NestedObjects) {
  check(R"({"type": "object", "properties": {"user": {"type": "object", "properties": {
             "id": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}}},
             "required": ["id", "tags"], "additionalProperties": false}}, "required": ["user"], "additionalProperties": false})",
        {.valid = {R"({"user":{"id":1,"tags":[]}})", R"({"user":{"id":1,"tags":["a","b"]}})"},
         .invalid = {R"({"user":{"id":1¦}})", R"({"user":{"¦tags":[]}})", R"({"user":{"id":1,"tags":[¦1]}})"}});
}

TEST(GrammarJsonSchema, AnyOfAndOneOf) {
  const Cases cases{.valid = {R"({"kind":"a","x":1})", R"({"kind":"b","y":"s"})", "5", R"("str")"},
                    .invalid = {R"({"kind":"a","¦y":1})", R"({"kind":"¦c"})", "¦true"}};
  for (const char* keyword : {"anyOf", "oneOf"})
    check(fmt::format(R"({{"{}": [
          {{"type": "object", "properties": {{"kind": {{"const": "a"}}, "x": {{"type": "integer"}}}},
           "required": ["kind", "x"], "additionalProperties": false}},
          {{"type": "object", "properties": {{"kind": {{"const": "b"}}, "y": {{"type": "string"}}}},
           "required": ["kind", "y"], "additionalProperties": false}},
          {{"type": "integer"}}, {{"type": "string"}}]}})",
                      keyword),
          cases);
  check(R"({"allOf": [{"type": "integer"}], "description": "one schema"})", {.valid = {"1"}, .invalid = {"¦\"1\""}});
}

TEST(GrammarJsonSchema, RefsToDefsAndDefinitionsAndRecursion) {
  check(R"({"$defs": {"id": {"type": "integer", "minimum": 1}}, "definitions": {"name": {"type": "string"}},
           "type": "object", "properties": {"id": {"$ref": "#/$defs/id"}, "name": {"$ref": "#/definitions/name"}},
           "required": ["id", "name"], "additionalProperties": false})",
        {.valid = {R"({"id":3,"name":"n"})"}, .invalid = {R"({"id":¦0,"name":"n"})", R"({"id":1,"name":¦1})"}});
  // A tree: children may be empty, so the recursion has a base case.
  const std::string tree = R"({"$defs": {"node": {"type": "object", "properties": {"v": {"type": "integer"},
      "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}, "required": ["v", "children"],
      "additionalProperties": false}}, "$ref": "#/$defs/node"})";
  check(tree,
        {.valid = {R"({"v":1,"children":[]})", R"({"v":1,"children":[{"v":2,"children":[{"v":3,"children":[]}]}]})"},
         .invalid = {R"({"v":1,"children":[{"v":2¦}]})"}});
  EXPECT_NE(schema_error(R"({"$ref": "#"})").find("cycle"), std::string::npos);
  EXPECT_NE(schema_error(R"({"$ref": "#/$defs/missing"})").find("does not resolve"), std::string::npos);
  // Required recursion has no finite instance.
  EXPECT_NE(schema_error(R"({"type": "object", "properties": {"next": {"$ref": "#"}}, "required": ["next"]})")
                .find("admits no value"),
            std::string::npos);
}

TEST(GrammarJsonSchema, NestingStopsAtTheDepthBound) {
  // Each level of the tree is an object and an array: at the bound, children must be empty.
  const auto g = compile(R"({"type": "object", "properties": {"c": {"type": "array", "items": {"$ref": "#"}}},
                             "required": ["c"], "additionalProperties": false})");
  std::string text;
  for (int level = 0; level < kMaxDepth / 2; ++level) text += R"({"c":[)";
  std::string closing;
  for (int level = 0; level < kMaxDepth / 2; ++level) closing += "]}";
  check(*g, {.valid = {text + closing}, .invalid = {text + "¦{"}}, "tree at the depth bound");
  // json_object: containers nest kMaxDepth deep, then only scalars.
  const auto any = json_object_grammar();
  std::string below;  // kMaxDepth - 1 open objects
  for (int level = 1; level < kMaxDepth; ++level) below += R"({"a":)";
  const std::string at_bound = below + R"({"a":)";
  check(*any,
        {.valid = {below + "{}" + std::string(kMaxDepth - 1, '}'), at_bound + "1" + std::string(kMaxDepth, '}')},
         .invalid = {below + "{\"b\":¦[", at_bound + "¦[", at_bound + "¦{", "¦[]", "¦1", "{}¦{"}},
        "json_object depth");
  // A schema whose every instance nests deeper than the bound is refused.
  std::string deep = R"({"type": "integer"})";
  for (int level = 0; level <= kMaxDepth; ++level) deep = R"({"type": "array", "minItems": 1, "items": )" + deep + "}";
  EXPECT_NE(schema_error(deep).find("nested"), std::string::npos) << schema_error(deep);
}

TEST(GrammarJsonSchema, StringLengthsCountCodePoints) {
  check(R"({"type": "string", "minLength": 2, "maxLength": 3})",
        {.valid = {R"("ab")", R"("abc")", R"("é€")", "\"\xF0\x9F\x98\x80\xF0\x9F\x98\x80\"", R"("\uD83D\uDE00\n")",
                   R"("a\"")"},
         .invalid = {R"("a¦")", R"("abc¦d")", R"("ab\n¦x")", "\"abc¦\xC3\xA9\"", R"("\uD83D\uDE00ab¦c")"}});
}

TEST(GrammarJsonSchema, Formats) {
  check(
      R"({"type": "string", "format": "date"})",
      {.valid = {R"("2024-02-29")", R"("2000-02-29")", R"("1999-12-31")", R"("2023-04-30")"},
       .invalid = {R"("2023-02-2¦9")", R"("1900-02-2¦9")", R"("2024-02-¦30")", R"("2024-04-3¦1")", R"("2024-1¦3-01")",
                   R"("2024-0¦0-01")", R"("2024-01-0¦0")", R"("2024-01-01¦T")", R"("2024-1¦-01")", R"("24¦-01-01")"}});
  check(R"({"type": "string", "format": "time"})",
        {.valid = {R"("23:59:59Z")", R"("00:00:00.123+05:30")", R"("12:30:00-23:59")"},
         .invalid = {R"("2¦4:00:00Z")", R"("12:¦60:00Z")", R"("12:00:00¦")", R"("12:00:00+2¦4:00")", R"("12:00:00.¦Z")",
                     R"("12:00:00¦z")"}});
  check(R"({"type": "string", "format": "date-time"})",
        {.valid = {R"("2024-02-29T23:59:59Z")", R"("1970-01-01T00:00:00.5+01:00")"},
         .invalid = {R"("2024-02-29¦ 23:59:59Z")", R"("2024-02-29T23:59:59¦")"}});
  check(R"({"type": "string", "format": "uuid"})",
        {.valid = {R"("123e4567-e89b-12d3-a456-426614174000")", R"("ABCDEF00-0000-0000-0000-000000000000")"},
         .invalid = {R"("123e4567¦e89b")", R"("123¦g")", R"("123e4567-e89b-12d3-a456-426614174000¦0")",
                     R"("123e4567-e89b-12d3-a456-42661417400¦")"}});
  check(R"({"type": "string", "format": "email"})",
        {.valid = {R"("a@b.co")", R"("first.last+tag@mail-server.example.org")", R"("x_1%@a1.b2")"},
         .invalid = {R"("a@b¦")", R"("¦@b.c")", R"("a.¦.b@c.d")", R"("a@b-¦.c")", R"("a@¦-b.c")", R"("a¦ b")",
                     R"("a@b.c-¦")"}});
}

TEST(GrammarJsonSchema, IntegerBounds) {
  check(R"({"type": "integer", "minimum": 10, "maximum": 120})",
        {.valid = {"10", "99", "120"}, .invalid = {"¦-", "¦0", "1¦,", "12¦1", "13¦0", "9¦", "1¦"}});
  check(R"({"type": "integer", "minimum": -5, "exclusiveMaximum": 0})",
        {.valid = {"-5", "-1"}, .invalid = {"¦0", "-¦6", "-5¦0", "-¦"}});
  check(R"({"type": "integer", "exclusiveMinimum": 7.5})",
        {.valid = {"8", "1000000"}, .invalid = {"7¦", "¦-1", "7¦,"}});
  check(R"({"type": "integer", "minimum": 5, "exclusiveMinimum": true})", {.valid = {"6"}, .invalid = {"5¦"}});
  check(R"({"type": "integer", "maximum": -10})", {.valid = {"-10", "-99999"}, .invalid = {"¦0", "¦5", "-9¦", "-1¦,"}});
  EXPECT_NE(schema_error(R"({"type": "integer", "minimum": 3, "maximum": 2})").find("no integer"), std::string::npos);
}

TEST(GrammarJsonSchema, WhitespaceIsBoundedAndNothingFollowsTheValue) {
  const auto g = json_object_grammar();
  const std::string ws(kMaxWhitespace, ' ');
  check(*g,
        {.valid = {ws + "{" + ws + "\"a\"" + ws + ":" + ws + "1" + ws + "}", "{\"a\":[" + ws + "]}"},
         .invalid = {ws + "¦ {}", "{" + ws + "¦\n}", "{}¦ ", "{}¦\n"}},
        "json_object whitespace");
}

TEST(GrammarJsonSchema, UnsupportedKeywordsAreNamed) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"type": "string", "pattern": "^a$"})", "'pattern'"},
      {R"({"type": "object", "patternProperties": {}})", "'patternProperties'"},
      {R"({"type": "object", "propertyNames": {}})", "'propertyNames'"},
      {R"({"type": "object", "minProperties": 1})", "'minProperties'"},
      {R"({"not": {"type": "string"}})", "'not'"},
      {R"({"if": {}, "then": {}})", "'if'"},
      {R"({"type": "array", "contains": {}})", "'contains'"},
      {R"({"type": "array", "prefixItems": []})", "'prefixItems'"},
      {R"({"type": "array", "items": [{"type": "string"}]})", "'items' as an array"},
      {R"({"type": "array", "uniqueItems": true})", "'uniqueItems'"},
      {R"({"type": "number", "multipleOf": 2})", "'multipleOf'"},
      {R"({"type": "number", "minimum": 0})", "'minimum' for type 'number'"},
      {R"({"type": "integer", "maximum": 1e300})", "'maximum' beyond"},
      {R"({"type": "string", "format": "uri"})", "'format' 'uri'"},
      {R"({"type": "string", "format": "date", "maxLength": 3})", "'maxLength' together with 'format'"},
      {R"({"allOf": [{"type": "string"}, {"minLength": 1}]})", "'allOf' with more than one"},
      {R"({"type": "string", "anyOf": [{"minLength": 1}]})", "'anyOf' alongside 'type'"},
      {R"({"$ref": "https://example.com/s.json"})", "'$ref' to"},
      {R"({"type": "object", "properties": {"a": {}}, "required": ["b"]})", "'required' for 'b'"},
      {R"({"type": "object", "properties": {"a": {"type": "string", "x-custom": 1}}})", "'x-custom'"},
  };
  for (const auto& [schema, keyword] : cases) {
    const std::string message = schema_error(schema);
    EXPECT_NE(message.find(fmt::format("keyword {}", keyword)), std::string::npos) << schema << " → " << message;
    EXPECT_NE(message.find("not supported"), std::string::npos) << message;
  }
  // Where it is: a JSON pointer into the schema.
  EXPECT_NE(schema_error(R"({"properties": {"a/b": {"pattern": "x"}}})").find("(at #/properties/a~1b)"),
            std::string::npos);
  // Annotations and neutral values are accepted.
  EXPECT_EQ(schema_error(R"({"title": "t", "description": "d", "$schema": "x", "default": 1, "examples": [1],
                             "type": "array", "uniqueItems": false, "$comment": "c"})"),
            "");
}

// Bounds that keep compilation and each mask step cheap, whatever a request sends.
TEST(GrammarJsonSchema, SizeLimitsAreRefused) {
  ordered_json any_of = ordered_json::array(), properties = ordered_json::object();
  for (int i = 0; i <= kMaxAlternatives; ++i) any_of.push_back({{"const", i}, {"type", "integer"}});
  for (int i = 0; i <= kMaxProperties; ++i) properties[fmt::format("p{}", i)] = {{"type", "integer"}};
  std::string nested = "{}";
  for (int i = 0; i < 200; ++i) nested = R"({"items": )" + nested + "}";
  EXPECT_NE(schema_error(ordered_json{{"anyOf", any_of}}.dump()).find("alternatives"), std::string::npos);
  EXPECT_NE(schema_error(ordered_json{{"properties", properties}}.dump()).find("properties"), std::string::npos);
  EXPECT_NE(schema_error(nested).find("nests more than"), std::string::npos);
  any_of.erase(any_of.begin());
  EXPECT_EQ(schema_error(ordered_json{{"anyOf", any_of}}.dump()), "");  // exactly at the bound
}

TEST(GrammarJsonSchema, ObjectsAcceptOnlyObjectsAtTheRoot) {
  check(*json_object_grammar(),
        {.valid = {"{}", R"({"a":{"b":[1,2.5,"x",true,false,null,{}]},"c":"d"})", R"({"a":1,"a":2})"},
         .invalid = {"¦[]", "¦\"x\"", "{¦a:1}", "{\"a\":1¦]", "{\"a\":¦}", "{\"a\":tru¦x}"}},
        "json_object");
}

}  // namespace
}  // namespace whale::grammar
