// One HTTP request's generation: its n choices run as engine requests; the engine thread only queues token ids (cheap),
// and the HTTP thread turns them into text deltas: streaming decoder → stop strings → reasoning split. Destroying the
// job (e.g. the client went away) cancels whatever still runs.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/batch_engine.h"
#include "server/policy.h"
#include "server/text_stream.h"
#include "server/tools/tool_call_parser.h"
#include "tokenizer/tokenizer.h"

namespace whale::server {

struct ChoiceDelta {
  int64_t index = 0;
  std::string reasoning, content;
  std::string finish_reason;  // empty until the choice ends: "stop", "length", "content_filter" or "tool_calls"
  std::vector<tools::ToolCall> tool_calls;  // with JobOptions::tool_format: calls parsed out of the content
  // With JobOptions::logprobs: the tokens handled for this delta (special tokens left out), split like the text. A
  // token's text may arrive in a later delta than its entry (held back by a stop-string prefix).
  std::vector<SampledToken> reasoning_logprobs, content_logprobs;
};

struct JobOptions {
  std::vector<std::string> stop;
  bool split_reasoning = false;  // chat: <think>…</think> → reasoning
  bool in_reasoning = false;     // the prompt ends inside <think>
  bool logprobs = false;         // the engine requests ask for logprobs: pass them on
  // The operator's output policy for this request's key (null: none); it must outlive the job. A stop rule ends the
  // choice with finish_reason "content_filter".
  const KeyPolicy* policy = nullptr;
  // Chat with tools: the content is parsed for tool calls in this format (kNone: not parsed); a choice that made one
  // and ended with "stop" ends with "tool_calls". max_tool_calls: 1 for parallel_tool_calls false.
  tools::ToolFormat tool_format = tools::ToolFormat::kNone;
  size_t max_tool_calls = std::numeric_limits<size_t>::max();
};

class GenerationJob {
 public:
  // Submits one engine request per choice; throws (whale::Error) if the engine rejects one.
  GenerationJob(BatchEngine& engine, const Tokenizer& tokenizer, const std::vector<EngineRequest>& choices,
                const JobOptions& options);
  ~GenerationJob();
  GenerationJob(const GenerationJob&) = delete;
  GenerationJob& operator=(const GenerationJob&) = delete;

  // Waits up to `timeout` for engine events; returns the resulting non-empty deltas and finishes.
  std::vector<ChoiceDelta> poll(std::chrono::milliseconds timeout);
  // Waits up to `timeout` until the engine has ended every choice, without waking for each token (for a caller that
  // wants the whole answer); poll() then returns the deltas.
  void wait_finished(std::chrono::milliseconds timeout);
  bool done() const { return n_finished_ == choices_.size(); }
  // Set once an engine step failed for one of the choices (FinishReason::kError): the job is lost.
  const std::optional<std::string>& error() const { return error_; }
  void cancel();

  int64_t completion_tokens() const;
  // The generated tokens the reasoning split put inside <think>…</think> (DeepSeek's reasoning_tokens).
  int64_t reasoning_tokens() const;
  // Seconds from construction to the first generated token, once there is one.
  std::optional<double> time_to_first_token() const { return ttft_; }

 private:
  struct Event {
    size_t choice;
    SampledToken token;                  // a token, or
    std::optional<FinishReason> finish;  // the end of the choice
    std::string error;                   // kError: what failed
  };
  // Shared with the engine callbacks, which may outlive the job.
  struct Channel {
    std::mutex mutex;
    std::condition_variable ready;     // any event
    std::condition_variable finishes;  // an on_done event
    std::deque<Event> events;
    size_t finished = 0;  // choices the engine has ended
  };
  struct Choice {
    Choice(const Tokenizer& t, const JobOptions& o)
        : decoder(t, /*skip_special_tokens=*/true), stop(o.stop), splitter(o.in_reasoning) {
      if (o.policy && !o.policy->empty()) {
        reasoning_policy.emplace(o.policy->stream(PolicyChannel::kReasoning));
        content_policy.emplace(o.policy->stream(PolicyChannel::kContent));
      }
      if (o.tool_format != tools::ToolFormat::kNone) tool_parser.emplace(o.tool_format, o.max_tool_calls);
    }
    BatchEngine::RequestId id = 0;
    StreamingDecoder decoder;
    StopFilter stop;
    ReasoningSplitter splitter;
    // After the split: the operator's rules on each channel (the reasoning one ends where content begins).
    std::optional<PolicyStream> reasoning_policy, content_policy;
    bool reasoning_policy_done = false;
    std::optional<tools::ToolCallParser> tool_parser;  // after the policy: its rules see the calls' text too
    int64_t tokens = 0, reasoning_tokens = 0;
    bool finished = false;
  };
  void handle(const Event& event, std::vector<ChoiceDelta>& out);
  // `token`: the token whose text this is (nullptr for the flush at the end).
  void emit(size_t index, const std::string& text, const SampledToken* token, bool last, std::vector<ChoiceDelta>& out,
            std::string finish);
  // Passes a delta's text through the choice's policy streams; true when a stop rule ended the choice.
  bool apply_policy(Choice& c, ChoiceDelta& d, bool last);
  // Moves the tool calls of a delta's content into d.tool_calls.
  void parse_tool_calls(Choice& c, ChoiceDelta& d, bool last, std::string& finish);

  BatchEngine& engine_;
  const Tokenizer& tokenizer_;
  JobOptions options_;
  std::shared_ptr<Channel> channel_ = std::make_shared<Channel>();
  std::vector<Choice> choices_;
  size_t n_finished_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::optional<double> ttft_;
  std::optional<std::string> error_;
};

}  // namespace whale::server
