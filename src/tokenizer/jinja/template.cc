#include "tokenizer/jinja/template.h"

#include "core/error.h"
#include "tokenizer/jinja/evaluator.h"
#include "tokenizer/jinja/lexer.h"
#include "tokenizer/jinja/parser.h"

namespace whale::jinja {

Template::Template(const std::string& source, std::string name, Limits limits)
    : name_(std::move(name)), limits_(limits) {
  try {
    body_ = std::make_shared<const Body>(parse(tokenize(source)));
  } catch (const Error& e) {
    fail("{}: {}", name_, e.what());
  }
}

std::string Template::render(const Dict& context) const {
  Evaluator evaluator(limits_, context);
  try {
    return evaluator.render(*body_);
  } catch (const Error& e) {
    fail("{}: line {}: {}", name_, evaluator.line(), e.what());
  }
}

}  // namespace whale::jinja
