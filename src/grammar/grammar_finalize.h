// The last pass of the schema compiler, once every node exists: unions flattened (no union among the
// alternatives of another; a cycle of unions, e.g. {"$ref": "#"} at the root, is refused), the tries of keys
// and literals built, each node's min_depth (the containers nested in its shallowest instance, by a fixpoint:
// recursion through an optional property or an array that may be empty has one, required recursion has none),
// the per-depth masks of properties that still fit, and enum/const values the rest of their schema rejects
// dropped (repeated until nothing changes, as dropping one may empty another).
#pragma once

#include "grammar/json_grammar.h"

namespace whale::grammar {

// Throws SchemaError (schema_compiler.h) when the root has no instance within kMaxDepth.
void finalize_grammar(JsonGrammar& g);

}  // namespace whale::grammar
