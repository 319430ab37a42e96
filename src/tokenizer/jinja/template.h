// A parsed Jinja template, rendered with transformers' chat-template environment semantics
// (trim_blocks, lstrip_blocks, loop controls, default Undefined, raise_exception / strftime_now globals).
#pragma once

#include <memory>
#include <string>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/limits.h"
#include "tokenizer/jinja/value.h"

namespace whale::jinja {

class Template {
 public:
  // `name` prefixes every error, e.g. "tokenizer_config.json: chat template".
  Template(const std::string& source, std::string name, Limits limits = {});

  // `context` holds the template's variables (messages, add_generation_prompt, bos_token, ...).
  std::string render(const Dict& context) const;

 private:
  std::string name_;
  std::shared_ptr<const Body> body_;
  Limits limits_;
};

}  // namespace whale::jinja
