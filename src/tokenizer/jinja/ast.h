// Syntax tree of a parsed template: expressions and statements, each tagged with its source line.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja/value.h"

namespace whale::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kLiteral,      // value
    kName,         // name
    kList,         // [args...] (also tuples)
    kDict,         // {kwargs: keys are evaluated from args pairwise} -> args = k0, v0, k1, v1, ...
    kGetAttr,      // args[0].name
    kGetItem,      // args[0][args[1]]
    kSlice,        // args[0][args[1]:args[2]:args[3]] (null parts omitted)
    kCall,         // args[0](args[1..], kwargs)
    kFilter,       // args[0] | name(args[1..], kwargs)
    kTest,         // args[0] is [not] name(args[1..]); negated
    kUnary,        // op args[0]: "-", "+", "not"
    kBinary,       // args[0] op args[1]: + - * / // % ** ~ and or
    kCompare,      // args[0] ops[0] args[1] ops[1] args[2] ...: == != < <= > >= in notin
    kConditional,  // args[0] if args[1] else args[2] (args[2] may be null)
  };
  Kind kind;
  int line = 0;
  Value value;
  std::string name;  // name, attribute, filter, test or operator
  bool negated = false;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct MacroParam {
  std::string name;
  ExprPtr default_value;  // may be null
};

struct Stmt {
  enum class Kind {
    kText,      // text
    kOutput,    // {{ expr }}
    kIf,        // branches: (cond, body)...; else_body
    kFor,       // for targets in expr [if cond]: body; else_body
    kSet,       // set targets = expr, or set target.attr = expr (attr non-empty)
    kSetBlock,  // set target %}body{% endset
    kMacro,     // macro name(params): body
    kBreak,
    kContinue,
    kScope,  // a block without semantics of its own ({% generation %}): body
  };
  Kind kind;
  int line = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr cond;
  std::vector<std::string> targets;
  std::string attr;
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body;
  Body else_body;
  std::vector<MacroParam> params;
};

}  // namespace whale::jinja
