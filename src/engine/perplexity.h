// Perplexity of a model on a token stream and, against a reference model, the KL divergence of its next-token
// distributions: what `llama-perplexity` and `llama-perplexity --kl-divergence` report, to measure what
// quantization costs. Works on token ids; the text is tokenized by the caller.
//
// Chunks (llama-perplexity's definition, tools/perplexity/perplexity.cpp): chunk i is ids[i·ctx, (i+1)·ctx);
// the first half is context and the tokens at positions ctx/2 + 1 .. ctx − 1 are scored, each from the logits
// one position earlier (ctx − 1 − ctx/2 tokens per chunk; 255 for ctx 512). With a stride S, chunk i is
// ids[i·S, i·S + ctx) and its last S tokens are scored (positions ctx − S .. ctx − 1), so every token after the
// first ctx − S is scored exactly once, each with at least ctx − S tokens of context (Hugging Face's sliding
// window). Chunks that do not fit in the ids are dropped; at least 2 must fit. Each chunk is a fresh causal
// forward from position 0; when bos_id ≥ 0 its first token is replaced by BOS, as llama-perplexity does when
// the vocabulary adds BOS.
//
// Per scored token t with target y: log p(y) = x_y − log Σ_j exp(x_j) in double, NLL_t = −log p(y).
//   perplexity = exp(mean NLL) ± exp(mean NLL) · se(NLL), se(v) = sqrt((mean(v²) − mean(v)²) / (N − 1)),
//   KL_t = Σ_j p_ref,j · (log p_ref,j − log p_j)   (KL(P_ref || P_model), nats),
//   ppl / ppl_ref − 1 = exp(mean(NLL − NLL_ref)) − 1 ± exp(mean(NLL − NLL_ref)) · se(NLL − NLL_ref),
//   same_top_p = fraction of tokens where argmax p == argmax p_ref (lowest id on ties) ± sqrt(p(1 − p)/(N − 1)),
//   kl_p99 = the 0.99 quantile of KL_t, linearly interpolated between sorted values at 0.99 · (N − 1).
// These are llama-perplexity's estimators (its "Mean PPL(Q)/PPL(base)" error, computed there from the
// covariance of NLL and NLL_ref, equals se(NLL − NLL_ref)).
//
// Memory: one chunk's logits per model ([ctx, vocab] f32) plus 8 bytes per scored token (for the KL quantiles).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "model/model.h"

namespace whale {

inline constexpr int64_t kPerplexityDefaultCtx = 512;  // llama-perplexity's default context

struct PerplexityOptions {
  int64_t ctx = 0;         // tokens per chunk; 0: min(kPerplexityDefaultCtx, the model's context)
  int64_t stride = 0;      // 0: llama-perplexity chunks; S in [1, ctx − 1]: sliding windows every S tokens
  int64_t max_chunks = 0;  // 0: every chunk that fits
  int32_t bos_id = -1;     // ≥ 0: the first token of every chunk is replaced by this id
};

// A mean and its standard error.
struct Estimate {
  double value = 0, error = 0;
};

struct PerplexityStats {
  int64_t ctx = 0;
  int64_t chunks = 0, total_chunks = 0;  // chunks scored so far / in the run
  int64_t tokens = 0;                    // scored tokens
  double seconds = 0;                    // since the start of the run
  Estimate perplexity;
  // With a reference model only (has_reference):
  bool has_reference = false;
  Estimate ref_perplexity;
  Estimate ppl_ratio_minus_1;  // ppl / ppl_ref − 1
  Estimate kl;                 // mean KL(P_ref || P_model) per token, nats
  double kl_max = 0, kl_p99 = 0;
  Estimate same_top_p;
};

// Called after each chunk with the statistics over the chunks so far.
using PerplexityCallback = std::function<void(const PerplexityStats&)>;

// Scores `ids` with `model` and, if `reference` is not null, compares it with `reference` on the same chunks
// (both need the same vocabulary size). Throws whale::Error for options the models cannot run (ctx beyond a
// model's context), too few ids for 2 chunks, or ids outside the vocabulary.
PerplexityStats perplexity(Model& model, Model* reference, std::span<const int32_t> ids,
                           const PerplexityOptions& options, const PerplexityCallback& on_chunk = {});

}  // namespace whale
