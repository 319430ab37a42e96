// Recursive-descent parser from tokens to the syntax tree, with Jinja's operator precedence:
// conditional < or < and < not < comparisons/in < + - < ~ < * / // % < ** < unary - < filters/tests
// < postfix (attribute, subscript, call).
#pragma once

#include <vector>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/lexer.h"

namespace whale::jinja {

// Throws whale::Error ("line N: ...") on unsupported or malformed syntax.
Body parse(const std::vector<Token>& tokens);

}  // namespace whale::jinja
