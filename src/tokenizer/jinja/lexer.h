// Jinja lexer with the settings transformers compiles chat templates with: trim_blocks (the newline after
// a block or comment tag is dropped), lstrip_blocks (spaces before a block or comment tag on its own line
// are dropped), `-` whitespace control on either side of any tag, `+` to disable lstrip/trim, and no
// trailing newline kept at the end of the source.
#pragma once

#include <string>
#include <vector>

namespace whale::jinja {

struct Token {
  enum class Type { kText, kVarBegin, kVarEnd, kBlockBegin, kBlockEnd, kName, kString, kInt, kFloat, kOp, kEof };
  Type type;
  std::string text;  // text, name, decoded string literal, number spelling or operator
  int line;
};

// Throws whale::Error ("line N: ...") on an unclosed tag/comment/string or an unexpected character.
std::vector<Token> tokenize(const std::string& source);

}  // namespace whale::jinja
