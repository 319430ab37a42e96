// The conversation behind `whale chat`: messages rendered with the checkpoint's chat template, one reply
// generated at a time (streamed, split into reasoning and answer as the server does), the oldest turns
// dropped when the conversation outgrows the context, saved to and loaded from JSON.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/logit_adjust.h"
#include "engine/model_bundle.h"
#include "engine/sampler.h"
#include "server/text_stream.h"

namespace whale::cli {

struct ChatSettings {
  SamplingParams sampling;
  LogitAdjust adjust;  // repetition penalty
  int64_t max_new_tokens = 2048;
  int64_t ctx = 4096;  // positions one conversation may use (prompt + reply)
  std::string system;  // empty: no system message
};

struct ChatReply {
  std::string reasoning, content;
  int64_t prompt_tokens = 0, new_tokens = 0;
  double prefill_seconds = 0, decode_seconds = 0;
  bool interrupted = false;   // stopped by the user
  bool length = false;        // ended at max_new_tokens or the context
  int64_t dropped_turns = 0;  // earliest exchanges left out to fit the context
};

class ChatSession {
 public:
  ChatSession(ModelBundle& bundle, ChatSettings settings);

  ChatSettings& settings() { return settings_; }
  const ChatSettings& settings() const { return settings_; }
  const nlohmann::json& messages() const { return messages_; }
  void reset() { messages_ = nlohmann::json::array(); }

  // Adds the user's message, generates the reply (on_delta sees it as it streams; `stop` set from another
  // thread or a signal handler ends it early) and adds the reply to the conversation. An interrupted reply
  // is kept as far as it got. Throws whale::Error when the message alone does not fit the context.
  ChatReply ask(const std::string& user, const std::function<void(const server::ReasoningSplitter::Delta&)>& on_delta,
                const std::atomic<bool>& stop);

  // {"system": ..., "messages": [...]} as /save writes it; load() accepts the same (or a bare message list).
  nlohmann::json to_json() const;
  void load(const nlohmann::json& saved, const std::string& source);

 private:
  // The conversation from message `first` on (system message in front) as prompt ids.
  ChatPrompt render(size_t first) const;

  ModelBundle& bundle_;
  const Tokenizer& tokenizer_;
  const ChatTemplate& template_;
  ChatSettings settings_;
  nlohmann::json messages_ = nlohmann::json::array();  // user/assistant turns, without the system message
};

}  // namespace whale::cli
