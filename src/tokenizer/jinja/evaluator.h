// Tree-walking evaluator: runs statements into an output string and evaluates expressions with
// Jinja scoping (a for loop or macro call opens a scope; `set` writes the innermost one), within Limits.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/template.h"

namespace whale::jinja {

class Evaluator {
 public:
  Evaluator(const Limits& limits, const Dict& context);

  std::string render(const Body& body);
  // Source line of the statement or expression being evaluated (for error messages).
  int line() const { return line_; }

 private:
  using Scope = std::unordered_map<std::string, Value>;
  enum class Flow { kNormal, kBreak, kContinue };

  // One nesting level of exec/eval for the duration of a call: bounds the C++ stack whatever the template.
  class Nesting {
   public:
    explicit Nesting(Evaluator& e);
    ~Nesting() { --e_.depth_; }
    Nesting(const Nesting&) = delete;
    Nesting& operator=(const Nesting&) = delete;

   private:
    Evaluator& e_;
  };

  void spend(int64_t steps);
  Flow exec_body(const Body& body, std::string& out);
  Flow exec(const Stmt& s, std::string& out);
  Flow exec_statement(const Stmt& s, std::string& out);
  Flow exec_for(const Stmt& s, std::string& out);
  void exec_set(const Stmt& s);
  Value make_macro(const Stmt& s);
  Value eval(const Expr& e);
  Value eval_expression(const Expr& e);
  Value eval_call(const Expr& e);
  Value eval_compare(const Expr& e);
  CallArgs eval_args(const Expr& e, size_t first);
  Value lookup(const std::string& name) const;
  void assign(const std::string& name, Value v);
  void append(std::string& out, const std::string& text) const;

  const Limits& limits_;
  std::vector<std::shared_ptr<Scope>> scopes_;  // [0] globals, [1] template context, then loops/macros
  int64_t steps_ = 0;
  int depth_ = 0;  // nested exec/eval calls
  int call_depth_ = 0;
  int line_ = 0;
};

}  // namespace whale::jinja
