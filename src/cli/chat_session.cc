#include "cli/chat_session.h"

#include <algorithm>

#include "core/error.h"
#include "engine/generate.h"

namespace whale::cli {

using nlohmann::json;

ChatSession::ChatSession(ModelBundle& bundle, ChatSettings settings)
    : bundle_(bundle),
      tokenizer_(bundle.require_tokenizer("chat")),
      template_(bundle.require_chat_template("chat")),
      settings_(std::move(settings)) {}

ChatPrompt ChatSession::render(size_t first) const {
  json conversation = json::array();
  if (!settings_.system.empty()) conversation.push_back({{"role", "system"}, {"content", settings_.system}});
  for (size_t i = first; i < messages_.size(); ++i)
    conversation.push_back({{"role", messages_[i]["role"]}, {"content", messages_[i]["content"]}});
  return template_.render_for_encoding(tokenizer_, conversation, /*add_generation_prompt=*/true);
}

ChatReply ChatSession::ask(const std::string& user,
                           const std::function<void(const server::ReasoningSplitter::Delta&)>& on_delta,
                           const std::atomic<bool>& stop) {
  const int64_t ctx = std::min(settings_.ctx, bundle_.model->config().max_position);
  messages_.push_back({{"role", "user"}, {"content", user}});
  ChatReply reply;
  // Drop whole exchanges (a user turn and what follows it), oldest first, until the prompt leaves room for a reply.
  size_t first = 0;
  ChatPrompt prompt = render(first);
  while (int64_t(prompt.ids.size()) + 1 > ctx && first + 1 < messages_.size()) {
    do ++first;
    while (first + 1 < messages_.size() && messages_[first]["role"] != "user");
    ++reply.dropped_turns;
    prompt = render(first);
  }
  if (int64_t(prompt.ids.size()) + 1 > ctx) {
    messages_.erase(messages_.end() - 1);
    fail("the message is {} tokens with the chat markup; the context holds {} (--ctx)", prompt.ids.size(), ctx);
  }
  messages_.erase(messages_.begin(), messages_.begin() + std::ptrdiff_t(first));

  GenerateOptions gen{.max_new_tokens = std::min(settings_.max_new_tokens, ctx - int64_t(prompt.ids.size())),
                      .sampling = settings_.sampling,
                      .adjust = settings_.adjust,
                      .stop_ids = bundle_.stop_ids,
                      .vocab_limit = bundle_.vocab_limit};
  ++settings_.sampling.seed;  // the next answer to the same question may differ
  StreamingDecoder decoder(tokenizer_);
  server::ReasoningSplitter splitter(server::ends_inside_think(prompt.text));
  auto emit = [&](const server::ReasoningSplitter::Delta& d) {
    reply.reasoning += d.reasoning;
    reply.content += d.content;
    if (!d.empty() && on_delta) on_delta(d);
  };
  bool stopped_on_eos = false;
  GenerateStats stats;
  generate(
      *bundle_.model, prompt.ids, gen,
      [&](int32_t id) {
        if (std::find(gen.stop_ids.begin(), gen.stop_ids.end(), id) != gen.stop_ids.end()) {
          stopped_on_eos = true;
          return false;
        }
        emit(splitter.push(decoder.push(id)));
        if (stop.load()) {
          reply.interrupted = true;
          return false;
        }
        return true;
      },
      &stats);
  emit(splitter.push(decoder.finish()));
  emit(splitter.finish());
  reply.length = !stopped_on_eos && !reply.interrupted;
  reply.prompt_tokens = stats.prompt_tokens;
  reply.new_tokens = stats.new_tokens;
  reply.prefill_seconds = stats.prefill_seconds;
  reply.decode_seconds = stats.decode_seconds;
  json assistant = {{"role", "assistant"}, {"content", reply.content}};
  if (!reply.reasoning.empty()) assistant["reasoning_content"] = reply.reasoning;
  messages_.push_back(std::move(assistant));
  return reply;
}

json ChatSession::to_json() const { return {{"system", settings_.system}, {"messages", messages_}}; }

void ChatSession::load(const json& saved, const std::string& source) {
  const json* list = &saved;
  std::string system = settings_.system;
  if (saved.is_object()) {
    if (!saved.contains("messages")) fail("{}: no 'messages' list", source);
    list = &saved["messages"];
    if (saved.contains("system")) {
      if (!saved["system"].is_string()) fail("{}: 'system' must be a string", source);
      system = saved["system"].get<std::string>();
    }
  }
  if (!list->is_array()) fail("{}: 'messages' must be a list", source);
  json messages = json::array();
  for (size_t i = 0; i < list->size(); ++i) {
    const json& m = (*list)[i];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
        !m["content"].is_string())
      fail("{}: message {} needs a string 'role' and 'content'", source, i);
    const std::string role = m["role"];
    if (role == "system") {
      system = m["content"];
      continue;
    }
    if (role != "user" && role != "assistant")
      fail("{}: message {} has role '{}' (user or assistant)", source, i, role);
    messages.push_back(m);
  }
  settings_.system = std::move(system);
  messages_ = std::move(messages);
}

}  // namespace whale::cli
