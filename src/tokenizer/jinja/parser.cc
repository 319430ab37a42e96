#include "tokenizer/jinja/parser.h"

#include <algorithm>
#include <cstdlib>
#include <initializer_list>

#include "core/error.h"

namespace whale::jinja {
namespace {

constexpr int kMaxNesting = 200;  // deeper expressions or blocks are refused, not recursed into

using TT = Token::Type;

std::string describe(const Token& t) {
  switch (t.type) {
    case TT::kText:
      return "template text";
    case TT::kVarBegin:
      return "'{{'";
    case TT::kVarEnd:
      return "'}}'";
    case TT::kBlockBegin:
      return "'{%'";
    case TT::kBlockEnd:
      return "'%}'";
    case TT::kString:
      return "string literal";
    case TT::kEof:
      return "end of template";
    default:
      return "'" + t.text + "'";
  }
}

class Parser {
 public:
  explicit Parser(const std::vector<Token>& tokens) : toks_(tokens) {}

  Body parse_template() {
    std::string which;
    return parse_body({}, "", 0, &which);
  }

 private:
  // RAII nesting counter guarding the recursion depth.
  struct Nest {
    explicit Nest(Parser* p) : p(p) {
      if (++p->depth_ > kMaxNesting)
        fail("line {}: template nested too deeply (over {} levels)", p->peek().line, kMaxNesting);
    }
    ~Nest() { --p->depth_; }
    Parser* p;
  };

  const Token& peek(size_t ahead = 0) const { return toks_[std::min(pos_ + ahead, toks_.size() - 1)]; }
  const Token& next() {
    const Token& t = peek();
    if (pos_ < toks_.size() - 1) ++pos_;
    return t;
  }
  bool is_op(const char* op, size_t ahead = 0) const { return peek(ahead).type == TT::kOp && peek(ahead).text == op; }
  bool is_name(const char* name, size_t ahead = 0) const {
    return peek(ahead).type == TT::kName && peek(ahead).text == name;
  }
  bool accept_op(const char* op) {
    if (!is_op(op)) return false;
    next();
    return true;
  }
  void expect_op(const char* op) {
    if (!accept_op(op)) fail("line {}: expected '{}', got {}", peek().line, op, describe(peek()));
  }
  void expect_name(const char* name) {
    if (!is_name(name)) fail("line {}: expected '{}', got {}", peek().line, name, describe(peek()));
    next();
  }
  std::string expect_identifier() {
    if (peek().type != TT::kName) fail("line {}: expected a name, got {}", peek().line, describe(peek()));
    return next().text;
  }
  void expect_block_end() {
    if (peek().type != TT::kBlockEnd) fail("line {}: expected '%}}', got {}", peek().line, describe(peek()));
    next();
  }

  // Statements until one of the tags `ends`; the ending tag's name is consumed and stored in *which.
  Body parse_body(std::initializer_list<const char*> ends, const std::string& opener, int open_line,
                  std::string* which) {
    Nest nest(this);
    Body body;
    while (true) {
      const Token& t = peek();
      if (t.type == TT::kEof) {
        if (ends.size() == 0) return body;
        fail("line {}: unexpected end of template: '{{% {} %}}' opened on line {} is never closed", t.line, opener,
             open_line);
      }
      if (t.type == TT::kText) {
        auto s = make_stmt(Stmt::Kind::kText, t.line);
        s->text = next().text;
        body.push_back(std::move(s));
      } else if (t.type == TT::kVarBegin) {
        next();
        auto s = make_stmt(Stmt::Kind::kOutput, t.line);
        s->expr = parse_expr();
        if (peek().type != TT::kVarEnd) fail("line {}: expected '}}}}', got {}", peek().line, describe(peek()));
        next();
        body.push_back(std::move(s));
      } else if (t.type == TT::kBlockBegin) {
        const Token& tag = peek(1);
        if (tag.type != TT::kName) fail("line {}: expected a tag name after '{{%', got {}", tag.line, describe(tag));
        for (const char* end : ends) {
          if (tag.text == end) {
            next();
            next();
            *which = tag.text;
            return body;
          }
        }
        next();
        body.push_back(parse_statement());
      } else {
        fail("line {}: unexpected {}", t.line, describe(t));
      }
    }
  }

  static StmtPtr make_stmt(Stmt::Kind kind, int line) {
    auto s = std::make_unique<Stmt>();
    s->kind = kind;
    s->line = line;
    return s;
  }

  StmtPtr parse_statement() {
    const Token& tag = next();
    const std::string& name = tag.text;
    if (name == "if") return parse_if(tag.line);
    if (name == "for") return parse_for(tag.line);
    if (name == "set") return parse_set(tag.line);
    if (name == "macro") return parse_macro(tag.line);
    if (name == "break" || name == "continue") {
      expect_block_end();
      return make_stmt(name == "break" ? Stmt::Kind::kBreak : Stmt::Kind::kContinue, tag.line);
    }
    if (name == "generation") {
      expect_block_end();
      auto s = make_stmt(Stmt::Kind::kScope, tag.line);
      std::string which;
      s->body = parse_body({"endgeneration"}, "generation", tag.line, &which);
      expect_block_end();
      return s;
    }
    fail("line {}: unsupported tag '{{% {} %}}'", tag.line, name);
  }

  StmtPtr parse_if(int line) {
    auto s = make_stmt(Stmt::Kind::kIf, line);
    ExprPtr cond = parse_expr();
    while (true) {
      expect_block_end();
      std::string which;
      Body body = parse_body({"elif", "else", "endif"}, "if", line, &which);
      s->branches.emplace_back(std::move(cond), std::move(body));
      if (which == "elif") {
        cond = parse_expr();
        continue;
      }
      if (which == "else") {
        expect_block_end();
        s->else_body = parse_body({"endif"}, "if", line, &which);
      }
      expect_block_end();
      return s;
    }
  }

  std::vector<std::string> parse_targets() {
    std::vector<std::string> targets{expect_identifier()};
    while (accept_op(",")) targets.push_back(expect_identifier());
    return targets;
  }

  StmtPtr parse_for(int line) {
    auto s = make_stmt(Stmt::Kind::kFor, line);
    s->targets = parse_targets();
    expect_name("in");
    s->expr = parse_or();  // no conditional here: a trailing `if` filters the loop
    if (is_name("if")) {
      next();
      s->cond = parse_or();
    }
    if (is_name("recursive")) fail("line {}: unsupported recursive for loop", line);
    expect_block_end();
    std::string which;
    s->body = parse_body({"else", "endfor"}, "for", line, &which);
    if (which == "else") {
      expect_block_end();
      s->else_body = parse_body({"endfor"}, "for", line, &which);
    }
    expect_block_end();
    return s;
  }

  StmtPtr parse_set(int line) {
    std::vector<std::string> targets = parse_targets();
    std::string attr;
    if (targets.size() == 1 && accept_op(".")) attr = expect_identifier();
    if (accept_op("=")) {
      auto s = make_stmt(Stmt::Kind::kSet, line);
      s->targets = std::move(targets);
      s->attr = attr;
      s->expr = parse_expr();
      expect_block_end();
      return s;
    }
    if (targets.size() != 1 || !attr.empty()) fail("line {}: block set needs a single plain name", line);
    auto s = make_stmt(Stmt::Kind::kSetBlock, line);
    s->targets = std::move(targets);
    expect_block_end();
    std::string which;
    s->body = parse_body({"endset"}, "set", line, &which);
    expect_block_end();
    return s;
  }

  StmtPtr parse_macro(int line) {
    auto s = make_stmt(Stmt::Kind::kMacro, line);
    s->text = expect_identifier();
    expect_op("(");
    while (!accept_op(")")) {
      if (!s->params.empty()) expect_op(",");
      MacroParam p{expect_identifier(), nullptr};
      if (accept_op("=")) p.default_value = parse_expr();
      s->params.push_back(std::move(p));
    }
    expect_block_end();
    std::string which;
    s->body = parse_body({"endmacro"}, "macro", line, &which);
    if (peek().type == TT::kName) next();  // {% endmacro name %}
    expect_block_end();
    return s;
  }

  // ---- expressions ----

  ExprPtr make(Expr::Kind kind, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    return e;
  }

  ExprPtr binary(const std::string& op, ExprPtr a, ExprPtr b) {
    auto e = make(Expr::Kind::kBinary, a->line);
    e->name = op;
    e->args.push_back(std::move(a));
    e->args.push_back(std::move(b));
    return e;
  }

  ExprPtr parse_expr() {
    Nest nest(this);
    ExprPtr left = parse_or();
    while (is_name("if")) {
      int line = next().line;
      auto e = make(Expr::Kind::kConditional, line);
      e->args.push_back(std::move(left));
      e->args.push_back(parse_or());
      if (is_name("else")) {
        next();
        e->args.push_back(parse_expr());
      } else {
        e->args.push_back(nullptr);
      }
      left = std::move(e);
    }
    return left;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      next();
      left = binary("or", std::move(left), parse_and());
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      next();
      left = binary("and", std::move(left), parse_not());
    }
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      Nest nest(this);
      auto e = make(Expr::Kind::kUnary, next().line);
      e->name = "not";
      e->args.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    ExprPtr first = parse_math1();
    auto e = make(Expr::Kind::kCompare, first->line);
    e->args.push_back(std::move(first));
    while (true) {
      const Token& t = peek();
      if (t.type == TT::kOp &&
          (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == "<=" || t.text == ">" || t.text == ">=")) {
        e->ops.push_back(next().text);
      } else if (is_name("in")) {
        next();
        e->ops.push_back("in");
      } else if (is_name("not") && is_name("in", 1)) {
        next();
        next();
        e->ops.push_back("notin");
      } else {
        break;
      }
      e->args.push_back(parse_math1());
    }
    if (e->ops.empty()) return std::move(e->args[0]);
    return e;
  }

  template <typename Next>
  ExprPtr parse_left_assoc(std::initializer_list<const char*> ops, Next next_level) {
    ExprPtr left = (this->*next_level)();
    while (true) {
      const char* hit = nullptr;
      for (const char* op : ops)
        if (is_op(op)) hit = op;
      if (!hit) return left;
      next();
      left = binary(hit, std::move(left), (this->*next_level)());
    }
  }

  ExprPtr parse_math1() { return parse_left_assoc({"+", "-"}, &Parser::parse_concat); }
  ExprPtr parse_concat() { return parse_left_assoc({"~"}, &Parser::parse_math2); }
  ExprPtr parse_math2() { return parse_left_assoc({"*", "/", "//", "%"}, &Parser::parse_pow); }
  ExprPtr parse_pow() { return parse_left_assoc({"**"}, &Parser::parse_unary_filtered); }
  ExprPtr parse_unary_filtered() { return parse_unary(true); }

  ExprPtr parse_unary(bool with_filter) {
    Nest nest(this);
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      node = make(Expr::Kind::kUnary, peek().line);
      node->name = next().text;
      node->args.push_back(parse_unary(false));
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filters(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    const Token& t = peek();
    if (t.type == TT::kName) {
      next();
      auto lit = [&](Value v) {
        auto e = make(Expr::Kind::kLiteral, t.line);
        e->value = std::move(v);
        return e;
      };
      if (t.text == "true" || t.text == "True") return lit(Value(true));
      if (t.text == "false" || t.text == "False") return lit(Value(false));
      if (t.text == "none" || t.text == "None") return lit(Value::none());
      auto e = make(Expr::Kind::kName, t.line);
      e->name = t.text;
      return e;
    }
    if (t.type == TT::kString) {
      std::string s;
      while (peek().type == TT::kString) s += next().text;  // adjacent literals concatenate
      auto e = make(Expr::Kind::kLiteral, t.line);
      e->value = Value(std::move(s));
      return e;
    }
    if (t.type == TT::kInt || t.type == TT::kFloat) {
      next();
      auto e = make(Expr::Kind::kLiteral, t.line);
      errno = 0;
      if (t.type == TT::kInt) {
        e->value = Value(int64_t(std::strtoll(t.text.c_str(), nullptr, 10)));
      } else {
        e->value = Value(std::strtod(t.text.c_str(), nullptr));
      }
      if (errno == ERANGE) fail("line {}: number literal out of range: {}", t.line, t.text);
      return e;
    }
    if (accept_op("(")) {
      if (accept_op(")")) return make(Expr::Kind::kList, t.line);
      ExprPtr first = parse_expr();
      if (!is_op(",")) {
        expect_op(")");
        return first;
      }
      auto e = make(Expr::Kind::kList, t.line);  // tuple
      e->args.push_back(std::move(first));
      while (accept_op(",") && !is_op(")")) e->args.push_back(parse_expr());
      expect_op(")");
      return e;
    }
    if (accept_op("[")) {
      auto e = make(Expr::Kind::kList, t.line);
      while (!accept_op("]")) {
        if (!e->args.empty()) {
          expect_op(",");
          if (accept_op("]")) break;
        }
        e->args.push_back(parse_expr());
      }
      return e;
    }
    if (accept_op("{")) {
      auto e = make(Expr::Kind::kDict, t.line);
      while (!accept_op("}")) {
        if (!e->args.empty()) {
          expect_op(",");
          if (accept_op("}")) break;
        }
        e->args.push_back(parse_expr());
        expect_op(":");
        e->args.push_back(parse_expr());
      }
      return e;
    }
    fail("line {}: unexpected {} in expression", t.line, describe(t));
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      if (is_op(".")) {
        int line = next().line;
        if (peek().type == TT::kInt) {
          auto e = make(Expr::Kind::kGetItem, line);
          auto idx = make(Expr::Kind::kLiteral, line);
          idx->value = Value(int64_t(std::stoll(next().text)));
          e->args.push_back(std::move(node));
          e->args.push_back(std::move(idx));
          node = std::move(e);
          continue;
        }
        auto e = make(Expr::Kind::kGetAttr, line);
        e->name = expect_identifier();
        e->args.push_back(std::move(node));
        node = std::move(e);
      } else if (is_op("[")) {
        node = parse_subscript(std::move(node));
      } else if (is_op("(")) {
        auto e = make(Expr::Kind::kCall, peek().line);
        e->args.push_back(std::move(node));
        parse_call_args(e.get());
        node = std::move(e);
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr node) {
    int line = next().line;  // '['
    ExprPtr start;
    if (!is_op(":")) start = parse_expr();
    if (accept_op("]")) {
      auto e = make(Expr::Kind::kGetItem, line);
      e->args.push_back(std::move(node));
      e->args.push_back(std::move(start));
      return e;
    }
    expect_op(":");
    auto e = make(Expr::Kind::kSlice, line);
    e->args.push_back(std::move(node));
    e->args.push_back(std::move(start));
    e->args.push_back(is_op(":") || is_op("]") ? nullptr : parse_expr());
    ExprPtr step;
    if (accept_op(":") && !is_op("]")) step = parse_expr();
    e->args.push_back(std::move(step));
    expect_op("]");
    return e;
  }

  // `(a, b, key=c)`: positional arguments appended to e->args, keywords to e->kwargs.
  void parse_call_args(Expr* e) {
    expect_op("(");
    bool first = true;
    while (!accept_op(")")) {
      if (!first) {
        expect_op(",");
        if (accept_op(")")) break;
      }
      first = false;
      if (peek().type == TT::kName && is_op("=", 1)) {
        std::string key = next().text;
        next();
        e->kwargs.emplace_back(key, parse_expr());
      } else {
        if (!e->kwargs.empty()) fail("line {}: positional argument after keyword argument", peek().line);
        e->args.push_back(parse_expr());
      }
    }
  }

  ExprPtr parse_filters(ExprPtr node) {
    while (true) {
      if (is_op("|")) {
        int line = next().line;
        auto e = make(Expr::Kind::kFilter, line);
        e->name = expect_identifier();
        e->args.push_back(std::move(node));
        if (is_op("(")) parse_call_args(e.get());
        node = std::move(e);
      } else if (is_name("is")) {
        int line = next().line;
        auto e = make(Expr::Kind::kTest, line);
        if (is_name("not")) {
          next();
          e->negated = true;
        }
        e->name = expect_identifier();
        e->args.push_back(std::move(node));
        if (is_op("(")) {
          parse_call_args(e.get());
        } else if (starts_bare_test_arg()) {
          e->args.push_back(parse_postfix(parse_primary()));
        }
        node = std::move(e);
      } else if (is_op("(")) {
        auto e = make(Expr::Kind::kCall, peek().line);
        e->args.push_back(std::move(node));
        parse_call_args(e.get());
        node = std::move(e);
      } else {
        return node;
      }
    }
  }

  // `x is divisibleby 3`, `x is sameas false`: a test may take one argument without parentheses.
  bool starts_bare_test_arg() const {
    const Token& t = peek();
    if (t.type == TT::kString || t.type == TT::kInt || t.type == TT::kFloat) return true;
    if (t.type == TT::kOp) return t.text == "[" || t.text == "{";
    if (t.type != TT::kName) return false;
    for (const char* kw : {"else", "or", "and", "if", "in", "is", "not"})
      if (t.text == kw) return false;
    return true;
  }

  const std::vector<Token>& toks_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Body parse(const std::vector<Token>& tokens) { return Parser(tokens).parse_template(); }

}  // namespace whale::jinja
