// A fingerprint of a tokenizer's vocabulary (every id's bytes, in order), written with teacher
// log-probabilities so that logit distillation can refuse a student whose tokenizer differs.
#pragma once

#include <string>

#include "tokenizer/tokenizer.h"

namespace whale::distill {

// 16 hex digits (FNV-1a 64 over the vocabulary size and each token's length and bytes).
std::string tokenizer_fingerprint(const Tokenizer& tokenizer);

}  // namespace whale::distill
