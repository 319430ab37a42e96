// POST /v1/chat/completions and POST /v1/completions: request → prompt ids → GenerationJob → OpenAI JSON, or SSE chunks
// ("data: {...}\n\n" … "data:
// [DONE]\n\n") when stream is true.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/token_constraint.h"
#include "grammar/vocab_index.h"
#include "server/generation_job.h"
#include "server/http_listener.h"
#include "server/metrics.h"
#include "server/request.h"
#include "server/server.h"
#include "server/tools/tool_format.h"

namespace whale::server {

class CompletionHandler {
 public:
  // aborting: set when the server shuts down; running requests end (streams with an error event and [DONE]).
  CompletionHandler(ServedModel& model, const ServerOptions& options, Metrics& metrics,
                    const std::atomic<bool>& aborting)
      : model_(model), options_(options), metrics_(metrics), aborting_(aborting) {}

  // Run on a request's own thread; they return when the response is complete or the client is gone. key_id: the API
  // key's id ("" without keys), for the operator's policy.
  void chat(const HttpRequest& req, ResponseSink& sink, const std::string& key_id);
  void completion(const HttpRequest& req, ResponseSink& sink, const std::string& key_id);

 private:
  enum class Kind { kChat, kText };
  // The policy of the key (none without --policy), after its prompt rules have passed every message content and
  // tool call (or the prompt): a rejection is a 400 with the rule's message.
  std::optional<KeyPolicy> policy_for(const std::string& key_id, const nlohmann::json& texts, const char* param) const;
  // A new constraint for each choice (a forced tool call); without one, gen.response_format's grammar if any.
  using ConstraintFactory = std::function<std::shared_ptr<TokenConstraint>()>;
  // What one request generates: per_prompt generations of each prompt (best_of; >= gen.n), of which the gen.n
  // likeliest per token are answered, as choices prompt * n + i.
  struct Plan {
    std::vector<std::vector<int32_t>> prompts;
    std::vector<std::string> echo;  // empty, or per prompt: the text each of its choices starts with
    int64_t per_prompt = 1;
    ConstraintFactory make_constraint;
    int64_t prompt_tokens() const;
  };
  // Checks the prompts against the context, starts the job and writes the response (JSON or a stream).
  void run(Kind kind, Plan plan, const GenerationRequest& gen, const JobOptions& job_options, ResponseSink& sink);
  void respond_whole(bool chat, GenerationJob& job, const Plan& plan, const GenerationRequest& gen,
                     const JobOptions& job_options, nlohmann::json head, ResponseSink& sink);
  // A generation that completed: its tokens into the metrics and the access log.
  void account(const Plan& plan, const GenerationJob& job, ResponseSink& sink);
  void stream(bool chat, GenerationJob& job, const Plan& plan, const GenerationRequest& gen, nlohmann::json head,
              ResponseSink& sink);
  // Completions: each prompt's ids (text with BOS as the tokenizer adds it, fill-in-the-middle with a suffix, or the
  // client's ids, checked against the vocabulary) and its text (for the policy and echo).
  std::vector<std::vector<int32_t>> completion_prompts(const CompletionRequest& r, std::vector<std::string>& texts) const;
  // One choice of a whole (not streamed) answer; echo: the text a completion's choice starts with.
  nlohmann::json choice_json(bool chat, const GenerationRequest& gen, const JobOptions& job_options,
                             const ChoiceDelta& a, int64_t index, const std::string& echo) const;
  // The choice's "logprobs" for the tokens of one delta (or of the whole answer); null when not asked for.
  nlohmann::json logprobs_json(bool chat, const GenerationRequest& gen, const ChoiceDelta& d,
                               int64_t& text_offset) const;
  // The tokenizer's index for response_format, built by the first request that needs it, then shared.
  std::shared_ptr<const grammar::VocabIndex> vocab_index() const;
  // How the chat template writes tool calls, probed once (tools/tool_format.h).
  tools::ToolFormat tool_format() const;

  ServedModel& model_;
  const ServerOptions& options_;
  Metrics& metrics_;
  const std::atomic<bool>& aborting_;
  mutable std::once_flag vocab_once_;
  mutable std::shared_ptr<const grammar::VocabIndex> vocab_;
  mutable std::once_flag tool_format_once_;
  mutable tools::ToolFormat tool_format_ = tools::ToolFormat::kNone;
};

}  // namespace whale::server
