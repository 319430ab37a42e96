#include "tokenizer/jinja/evaluator.h"

#include "core/error.h"
#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/filters.h"
#include "tokenizer/jinja/methods.h"
#include "tokenizer/jinja/operators.h"

namespace whale::jinja {
namespace {

// Steps charged beyond the one per node. A loop iteration builds the 12-entry `loop` object, a macro call a
// scope and an output string. A value costs by size: a string per kBytesPerStep bytes; a list or dict that an
// expression builds kStepsPerItem per item (its memory), one that it only looks up (a variable, an attribute)
// per kItemsPerStep items. So the work done on big values and the memory a render allocates are bounded too.
constexpr int64_t kLoopIterationSteps = 16, kMacroCallSteps = 16;
constexpr int64_t kBytesPerStep = 16, kStepsPerItem = 8, kItemsPerStep = 8;

int64_t size_steps(const Value& v, bool built) {
  if (v.is_string()) return int64_t(v.as_string().size()) / kBytesPerStep;
  const size_t n = v.is_list() ? v.as_list().size() : v.is_mapping() ? v.as_dict().items.size() : 0;
  return built ? int64_t(n) * kStepsPerItem : int64_t(n) / kItemsPerStep;
}

// Whether the expression's value is one it builds, not one that already exists (a variable, an element, a
// literal, an operand of and / or / if-else).
bool builds_value(const Expr& e) {
  switch (e.kind) {
    case Expr::Kind::kLiteral:
    case Expr::Kind::kName:
    case Expr::Kind::kGetAttr:
    case Expr::Kind::kGetItem:
    case Expr::Kind::kConditional:
      return false;
    case Expr::Kind::kBinary:
      return e.name != "and" && e.name != "or";
    default:
      return true;
  }
}

}  // namespace

Evaluator::Nesting::Nesting(Evaluator& e) : e_(e) {
  if (++e_.depth_ > e_.limits_.max_depth) {
    --e_.depth_;
    fail("template evaluation nested deeper than the limit of {} levels", e_.limits_.max_depth);
  }
}

Evaluator::Evaluator(const Limits& limits, const Dict& context) : limits_(limits) {
  auto globals = std::make_shared<Scope>();
  for (auto& [k, v] : global_functions(limits).items) (*globals)[k] = v;
  auto root = std::make_shared<Scope>();
  for (const auto& [k, v] : context.items) (*root)[k] = v;
  scopes_ = {globals, root};
}

std::string Evaluator::render(const Body& body) {
  std::string out;
  exec_body(body, out);
  return out;
}

void Evaluator::spend(int64_t steps) {
  steps_ += steps;
  if (steps_ > limits_.max_steps) fail("evaluation exceeds the limit of {} steps", limits_.max_steps);
}

void Evaluator::append(std::string& out, const std::string& text) const {
  if (out.size() + text.size() > limits_.max_output_bytes)
    fail("output exceeds the limit of {} bytes", limits_.max_output_bytes);
  out += text;
}

Value Evaluator::lookup(const std::string& name) const {
  for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
    auto hit = (*it)->find(name);
    if (hit != (*it)->end()) return hit->second;
  }
  return Value::undefined(fmt::format("'{}' is undefined", name));
}

void Evaluator::assign(const std::string& name, Value v) { (*scopes_.back())[name] = std::move(v); }

Evaluator::Flow Evaluator::exec_body(const Body& body, std::string& out) {
  for (const auto& s : body) {
    Flow f = exec(*s, out);
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

Evaluator::Flow Evaluator::exec(const Stmt& s, std::string& out) {
  const Nesting nesting(*this);
  line_ = s.line;
  spend(1 + int64_t(s.text.size()) / kBytesPerStep);
  return exec_statement(s, out);
}

Evaluator::Flow Evaluator::exec_statement(const Stmt& s, std::string& out) {
  switch (s.kind) {
    case Stmt::Kind::kText:
      append(out, s.text);
      return Flow::kNormal;
    case Stmt::Kind::kOutput:
      append(out, to_str(eval(*s.expr), limits_.max_output_bytes));
      return Flow::kNormal;
    case Stmt::Kind::kIf:
      for (const auto& [cond, body] : s.branches) {
        if (truthy(eval(*cond))) return exec_body(body, out);
      }
      return exec_body(s.else_body, out);
    case Stmt::Kind::kFor:
      return exec_for(s, out);
    case Stmt::Kind::kSet:
      exec_set(s);
      return Flow::kNormal;
    case Stmt::Kind::kSetBlock: {
      std::string captured;
      exec_body(s.body, captured);
      assign(s.targets[0], Value(std::move(captured)));
      return Flow::kNormal;
    }
    case Stmt::Kind::kMacro:
      assign(s.text, make_macro(s));
      return Flow::kNormal;
    case Stmt::Kind::kBreak:
      return Flow::kBreak;
    case Stmt::Kind::kContinue:
      return Flow::kContinue;
    case Stmt::Kind::kScope:
      return exec_body(s.body, out);
  }
  return Flow::kNormal;
}

static void bind_targets(const std::vector<std::string>& targets, const Value& v,
                         std::unordered_map<std::string, Value>& scope) {
  if (targets.size() == 1) {
    scope[targets[0]] = v;
    return;
  }
  if (!v.is_list() || v.as_list().size() != targets.size())
    fail("cannot unpack {} into {} names", type_name(v), targets.size());
  for (size_t i = 0; i < targets.size(); ++i) scope[targets[i]] = v.as_list()[i];
}

Evaluator::Flow Evaluator::exec_for(const Stmt& s, std::string& out) {
  const Value iterable = eval(*s.expr);
  auto scope = std::make_shared<Scope>();
  scopes_.push_back(scope);
  List filtered;  // the items when they are not iterable's own list
  if (!iterable.is_list() || s.cond) {
    filtered = iterate(iterable, limits_.max_items);
    spend(int64_t(filtered.size()) * kStepsPerItem);
  }
  if (s.cond) {
    List kept;
    for (const auto& item : filtered) {
      bind_targets(s.targets, item, *scope);
      if (truthy(eval(*s.cond))) kept.push_back(item);
    }
    filtered = std::move(kept);
  }
  const List& items = iterable.is_list() && !s.cond ? iterable.as_list() : filtered;
  static const Value kNoPrevious = Value::undefined("'loop.previtem' is undefined on the first iteration");
  static const Value kNoNext = Value::undefined("'loop.nextitem' is undefined on the last iteration");
  const int64_t n = int64_t(items.size());
  auto index = std::make_shared<int64_t>(0);  // of the iteration running: one loop.cycle serves them all
  const Value cycle = Value::function("cycle", [index](const CallArgs& a) {
    if (a.args.empty()) fail("loop.cycle() needs at least one argument");
    return a.args[size_t(*index) % a.args.size()];
  });
  for (int64_t i = 0; i < n; ++i) {
    spend(kLoopIterationSteps);
    *index = i;
    bind_targets(s.targets, items[size_t(i)], *scope);
    Dict loop;
    loop.items = {{"index", Value(i + 1)},
                  {"index0", Value(i)},
                  {"revindex", Value(n - i)},
                  {"revindex0", Value(n - i - 1)},
                  {"first", Value(i == 0)},
                  {"last", Value(i == n - 1)},
                  {"length", Value(n)},
                  {"depth", Value(1)},
                  {"depth0", Value(0)},
                  {"previtem", i > 0 ? items[size_t(i - 1)] : kNoPrevious},
                  {"nextitem", i + 1 < n ? items[size_t(i + 1)] : kNoNext},
                  {"cycle", cycle}};
    (*scope)["loop"] = Value::dict(std::move(loop));
    if (exec_body(s.body, out) == Flow::kBreak) break;
  }
  scopes_.pop_back();
  if (n == 0) return exec_body(s.else_body, out);
  return Flow::kNormal;
}

void Evaluator::exec_set(const Stmt& s) {
  Value v = eval(*s.expr);
  if (!s.attr.empty()) {
    Value target = lookup(s.targets[0]);
    if (!target.is_namespace())
      fail("cannot set attribute '{}' on '{}' (a {}): only namespace() objects can be assigned to", s.attr,
           s.targets[0], type_name(target));
    if (v.holds_namespace()) fail("cannot set attribute '{}' on '{}' to a namespace", s.attr, s.targets[0]);
    target.namespace_dict().set(s.attr, std::move(v));
    return;
  }
  bind_targets(s.targets, v, *scopes_.back());
}

Value Evaluator::make_macro(const Stmt& s) {
  const Stmt* def = &s;
  return Value::function(s.text, [this, def](const CallArgs& a) {
    if (a.args.size() > def->params.size())
      fail("macro '{}' takes {} arguments, got {}", def->text, def->params.size(), a.args.size());
    spend(kMacroCallSteps);
    if (++call_depth_ > limits_.max_call_depth)
      fail("macro '{}': call depth exceeds the limit of {}", def->text, limits_.max_call_depth);
    auto scope = std::make_shared<Scope>();
    std::vector<std::shared_ptr<Scope>> frame = {scopes_[0], scopes_[1], scope};
    std::swap(frame, scopes_);
    for (const auto& [k, v] : a.kwargs) {
      bool known = false;
      for (const auto& p : def->params) known = known || p.name == k;
      if (!known) fail("macro '{}' has no parameter '{}'", def->text, k);
    }
    for (size_t i = 0; i < def->params.size(); ++i) {
      const MacroParam& p = def->params[i];
      const Value* given = a.get(i, p.name);
      (*scope)[p.name] = given             ? *given
                         : p.default_value ? eval(*p.default_value)
                                           : Value::undefined(fmt::format("'{}' is undefined", p.name));
    }
    std::string out;
    exec_body(def->body, out);
    std::swap(frame, scopes_);
    --call_depth_;
    return Value(std::move(out));
  });
}

CallArgs Evaluator::eval_args(const Expr& e, size_t first) {
  CallArgs a;
  for (size_t i = first; i < e.args.size(); ++i) a.args.push_back(eval(*e.args[i]));
  for (const auto& [k, v] : e.kwargs) a.kwargs.emplace_back(k, eval(*v));
  return a;
}

Value Evaluator::eval_call(const Expr& e) {
  const Expr& callee = *e.args[0];
  if (callee.kind == Expr::Kind::kGetAttr) {
    Value obj = eval(*callee.args[0]);
    CallArgs a = eval_args(e, 1);
    line_ = e.line;
    if (obj.is_undefined()) fail("{}", obj.name());
    if (auto result = call_method(obj, callee.name, a, limits_)) return *result;
    Value fn = get_attr(obj, callee.name);
    if (fn.is_function()) return fn.as_function()(a);
    fail("unsupported method '{}' on a value of type '{}'", callee.name, type_name(obj));
  }
  Value fn = eval(callee);
  CallArgs a = eval_args(e, 1);
  line_ = e.line;
  if (fn.is_function()) return fn.as_function()(a);
  if (fn.is_undefined()) fail("{} (called as a function)", fn.name());
  fail("'{}' object is not callable", type_name(fn));
}

Value Evaluator::eval_compare(const Expr& e) {
  Value left = eval(*e.args[0]);
  for (size_t i = 0; i < e.ops.size(); ++i) {
    Value right = eval(*e.args[i + 1]);
    const std::string& op = e.ops[i];
    bool ok;
    if (op == "==") {
      ok = equals(left, right);
    } else if (op == "!=") {
      ok = !equals(left, right);
    } else if (op == "in" || op == "notin") {
      ok = contains(right, left) == (op == "in");
    } else {
      if (left.is_undefined() || right.is_undefined()) fail("{}", left.is_undefined() ? left.name() : right.name());
      int c = compare(left, right);
      ok = op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : c >= 0;
    }
    if (!ok) return Value(false);
    left = std::move(right);
  }
  return Value(true);
}

Value Evaluator::eval(const Expr& e) {
  const Nesting nesting(*this);
  line_ = e.line;
  Value v = eval_expression(e);
  spend(1 + size_steps(v, builds_value(e)));
  return v;
}

Value Evaluator::eval_expression(const Expr& e) {
  switch (e.kind) {
    case Expr::Kind::kLiteral:
      return e.value;
    case Expr::Kind::kName:
      return lookup(e.name);
    case Expr::Kind::kList: {
      List items;
      for (const auto& a : e.args) items.push_back(eval(*a));
      return Value::list(std::move(items));
    }
    case Expr::Kind::kDict: {
      Dict d;
      for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
        Value k = eval(*e.args[i]);
        if (!k.is_string()) fail("dict literal keys must be strings, got '{}'", type_name(k));
        d.set(k.as_string(), eval(*e.args[i + 1]));
      }
      return Value::dict(std::move(d));
    }
    case Expr::Kind::kGetAttr:
      return get_attr(eval(*e.args[0]), e.name);
    case Expr::Kind::kGetItem: {
      Value obj = eval(*e.args[0]);
      return get_item(obj, eval(*e.args[1]));
    }
    case Expr::Kind::kSlice: {
      Value obj = eval(*e.args[0]);
      auto part = [&](size_t i) { return e.args[i] ? eval(*e.args[i]) : Value::none(); };
      Value start = part(1), stop = part(2), step = part(3);
      return slice(obj, start, stop, step);
    }
    case Expr::Kind::kCall:
      return eval_call(e);
    case Expr::Kind::kFilter: {
      Value v = eval(*e.args[0]);
      CallArgs a = eval_args(e, 1);
      line_ = e.line;
      return apply_filter(e.name, v, a, limits_);
    }
    case Expr::Kind::kTest: {
      Value v = eval(*e.args[0]);
      CallArgs a = eval_args(e, 1);
      line_ = e.line;
      return Value(apply_test(e.name, v, a) != e.negated);
    }
    case Expr::Kind::kUnary: {
      Value v = eval(*e.args[0]);
      if (e.name == "not") return Value(!truthy(v));
      if (e.name == "-") return negate(v);
      if (!v.is_number()) fail("bad operand type for unary +: '{}'", type_name(v));
      return v;
    }
    case Expr::Kind::kBinary: {
      Value a = eval(*e.args[0]);
      if (e.name == "and") return truthy(a) ? eval(*e.args[1]) : a;
      if (e.name == "or") return truthy(a) ? a : eval(*e.args[1]);
      Value b = eval(*e.args[1]);
      line_ = e.line;
      return binary_op(e.name, a, b, limits_.max_output_bytes);
    }
    case Expr::Kind::kCompare:
      return eval_compare(e);
    case Expr::Kind::kConditional:
      if (truthy(eval(*e.args[1]))) return eval(*e.args[0]);
      return e.args[2] ? eval(*e.args[2]) : Value::undefined("'if' expression without 'else' gave no value");
  }
  return Value();
}

}  // namespace whale::jinja
