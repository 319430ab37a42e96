#include "server/tools/forced_call_constraint.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "server/tools/forced_call.h"

namespace whale::server::tools {

ForcedCallSpec forced_call_spec(ToolFormat format, const Tokenizer& tokenizer, const std::string& name,
                                std::shared_ptr<const grammar::JsonGrammar> arguments) {
  const ForcedCall text = forced_call_text(format, name);
  return {std::move(arguments), tokenizer.encode(text.prefix), tokenizer.encode(text.suffix)};
}

AnyCallConstraint::AnyCallConstraint(const std::vector<ForcedCallSpec>& candidates,
                                     std::shared_ptr<const grammar::VocabIndex> index,
                                     const grammar::ConstraintOptions& options) {
  for (const ForcedCallSpec& c : candidates) {
    grammar::ConstraintOptions o = options;
    o.prefix_ids = c.prefix_ids;
    o.suffix_ids = c.suffix_ids;
    live_.push_back(std::make_unique<grammar::GrammarConstraint>(c.arguments, index, std::move(o)));
  }
}

bool AnyCallConstraint::mask(float* logits, int64_t vocab) noexcept {
  if (live_.size() == 1) return live_[0]->mask(logits, vocab);
  constexpr float kMasked = -std::numeric_limits<float>::infinity();
  merged_.assign(size_t(vocab), kMasked);
  bool any = false;
  for (const std::unique_ptr<grammar::GrammarConstraint>& c : live_) {
    scratch_.assign(logits, logits + vocab);
    if (!c->mask(scratch_.data(), vocab)) continue;
    any = true;
    for (int64_t i = 0; i < vocab; ++i)
      if (std::isfinite(scratch_[size_t(i)])) merged_[size_t(i)] = logits[i];
  }
  std::copy(merged_.begin(), merged_.end(), logits);
  return any;
}

void AnyCallConstraint::accept(int32_t id) noexcept {
  for (const std::unique_ptr<grammar::GrammarConstraint>& c : live_) c->accept(id);
  if (live_.size() == 1) return;
  std::erase_if(live_, [](const std::unique_ptr<grammar::GrammarConstraint>& c) { return c->failed(); });
}

}  // namespace whale::server::tools
