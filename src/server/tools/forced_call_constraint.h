// The decoding constraint of a forced call (tool_choice naming a function, or "required"): for each candidate tool a
// GrammarConstraint that writes the format's markup (forced_call.h) around arguments of the tool's schema. With
// several candidates ("required" among several tools) they run side by side: a token is allowed if a live candidate
// allows it, and a candidate that could not take the sampled token drops out. Names cannot hold the character that
// follows them in any markup (a newline or '"'), so once a name is complete one candidate is left.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/token_constraint.h"
#include "grammar/grammar_constraint.h"
#include "grammar/json_grammar.h"
#include "grammar/vocab_index.h"
#include "server/tools/tool_format.h"
#include "tokenizer/tokenizer.h"

namespace whale::server::tools {

struct ForcedCallSpec {
  std::shared_ptr<const grammar::JsonGrammar> arguments;
  std::vector<int32_t> prefix_ids, suffix_ids;
};

// The markup of `format` for the tool `name`, encoded with the model's tokenizer (markup tokens become their ids).
ForcedCallSpec forced_call_spec(ToolFormat format, const Tokenizer& tokenizer, const std::string& name,
                                std::shared_ptr<const grammar::JsonGrammar> arguments);

class AnyCallConstraint final : public TokenConstraint {
 public:
  AnyCallConstraint(const std::vector<ForcedCallSpec>& candidates, std::shared_ptr<const grammar::VocabIndex> index,
                    const grammar::ConstraintOptions& options);  // options: stop ids and reasoning_first

  bool mask(float* logits, int64_t vocab) noexcept override;
  void accept(int32_t id) noexcept override;
  size_t live() const { return live_.size(); }

 private:
  std::vector<std::unique_ptr<grammar::GrammarConstraint>> live_;
  std::vector<float> scratch_, merged_;
};

}  // namespace whale::server::tools
