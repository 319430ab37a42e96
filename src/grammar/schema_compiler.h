// JSON Schema → JsonGrammar, for response_format (OpenAI's json_schema and json_object).
//
// Supported: type (a name or a list), properties, required, additionalProperties (false, true or a schema;
// absent means any), enum, const, items (one schema), minItems, maxItems, anyOf, oneOf (as anyOf: branches
// that overlap may both match), allOf with one schema, $ref to a local JSON pointer (#, #/$defs/..,
// #/definitions/.., recursion included), format (date, time, date-time, uuid, email; json_grammar.h and
// string_format.h say what is generated), minLength, maxLength (not together with format), integer minimum /
// maximum / exclusiveMinimum / exclusiveMaximum (both drafts' spellings, within ±2^53), uniqueItems: false, and
// the annotations title, description, default, examples, $comment, $schema, $id, deprecated, readOnly,
// writeOnly, $defs, definitions (ignored).
// Everything else is refused by name: pattern, patternProperties, propertyNames, min/maxProperties,
// dependentRequired, dependencies, not, if/then/else, contains, prefixItems, items as an array, multipleOf,
// uniqueItems: true, bounds on non-integer numbers, unknown keywords; and a composition keyword ($ref, anyOf,
// oneOf, allOf) next to other constraints, required names missing from properties, property names with control
// characters, more than kMaxProperties properties in one object, unions of more than kMaxAlternatives, schemas
// nested more than 128 deep.
// enum/const values are kept if the rest of the schema accepts them (checked with the recognizer).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "grammar/json_grammar.h"

namespace whale::grammar {

// A schema the grammar cannot represent, or one with no instance; the message names the keyword and where
// it is (a JSON pointer), e.g. "JSON schema keyword 'pattern' is not supported (at #/properties/id)".
class SchemaError : public Error {
 public:
  using Error::Error;
};

// ordered_json: properties are generated in the order the schema lists them.
std::shared_ptr<const JsonGrammar> compile_json_schema(const nlohmann::ordered_json& schema);
// Any JSON object (response_format json_object).
std::shared_ptr<const JsonGrammar> json_object_grammar();

}  // namespace whale::grammar
