// A per-request restriction of what the engine may sample (e.g. grammar-constrained decoding for
// response_format: grammar/grammar_constraint.h). The engine knows only this interface: before sampling a
// request's next token it calls mask() on that request's logits, and after sampling accept() with the token.
// One object per request (each choice of an n > 1 request has its own); the engine calls it from one thread at
// a time. Neither call may throw: they run inside the engine's parallel sampling loop.
#pragma once

#include <cstdint>

namespace whale {

class TokenConstraint {
 public:
  virtual ~TokenConstraint() = default;
  // Sets logits[id] = -inf for every id in [0, vocab) that must not come next. Returns false when that is every
  // id: the engine then ends the request with an error instead of sampling.
  virtual bool mask(float* logits, int64_t vocab) noexcept = 0;
  // The token sampled from the masked logits (the request's stop ids included).
  virtual void accept(int32_t id) noexcept = 0;
};

}  // namespace whale
