#include "server/generation_job.h"

#include "core/error.h"

namespace whale::server {

GenerationJob::GenerationJob(BatchEngine& engine, const Tokenizer& tokenizer, const std::vector<EngineRequest>& choices,
                             const JobOptions& options)
    : engine_(engine), tokenizer_(tokenizer), options_(options) {
  choices_.reserve(choices.size());
  for (size_t i = 0; i < choices.size(); ++i) choices_.emplace_back(tokenizer, options);
  for (size_t i = 0; i < choices.size(); ++i) {
    auto push = [channel = channel_](Event event) {
      const bool finish = event.finish.has_value();
      {
        std::lock_guard lock(channel->mutex);
        channel->finished += finish;
        channel->events.push_back(std::move(event));
      }
      channel->ready.notify_all();
      if (finish) channel->finishes.notify_all();
    };
    try {
      choices_[i].id = engine.submit(choices[i], {.on_token =
                                                      [push, i](const SampledToken& t) {
                                                        return push({i, t, std::nullopt, {}}), true;
                                                      },
                                                  .on_done =
                                                      [push, i](const Completion& c) {
                                                        push({i, {}, c.finish, c.error});
                                                      }});
    } catch (...) {
      for (size_t j = 0; j < i; ++j) engine.cancel(choices_[j].id);
      throw;
    }
  }
}

GenerationJob::~GenerationJob() {
  if (!done()) cancel();
}

void GenerationJob::cancel() {
  for (Choice& c : choices_)
    if (!c.finished) engine_.cancel(c.id);
}

int64_t GenerationJob::completion_tokens() const {
  int64_t n = 0;
  for (const Choice& c : choices_) n += c.tokens;
  return n;
}

int64_t GenerationJob::reasoning_tokens() const {
  int64_t n = 0;
  for (const Choice& c : choices_) n += c.reasoning_tokens;
  return n;
}

std::vector<ChoiceDelta> GenerationJob::poll(std::chrono::milliseconds timeout) {
  std::deque<Event> events;
  {
    std::unique_lock lock(channel_->mutex);
    channel_->ready.wait_for(lock, timeout, [&] { return !channel_->events.empty(); });
    events.swap(channel_->events);
  }
  std::vector<ChoiceDelta> out;
  for (const Event& e : events) handle(e, out);
  return out;
}

void GenerationJob::wait_finished(std::chrono::milliseconds timeout) {
  std::unique_lock lock(channel_->mutex);
  channel_->finishes.wait_for(lock, timeout, [&] { return channel_->finished == choices_.size(); });
}

void GenerationJob::handle(const Event& event, std::vector<ChoiceDelta>& out) {
  Choice& c = choices_[event.choice];
  if (c.finished) return;  // ended by a stop string; the engine's remaining events are moot
  if (event.finish == FinishReason::kError) {
    if (!error_) error_ = event.error;
    c.finished = true;
    ++n_finished_;
    return;
  }
  if (!event.finish) {
    if (!ttft_) ttft_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    ++c.tokens;
    std::string text;
    try {
      text = c.decoder.push(event.token.id);
    } catch (const Error&) {
      // an id the tokenizer cannot decode contributes no text
    }
    std::string kept = c.stop.push(text);
    if (c.stop.stopped()) {
      engine_.cancel(c.id);
      emit(event.choice, kept, &event.token, true, out, "stop");
    } else {
      emit(event.choice, kept, &event.token, false, out, "");
    }
    return;
  }
  std::string kept = c.stop.push(c.decoder.finish());
  const bool stopped = c.stop.stopped();
  kept += c.stop.finish();
  emit(event.choice, kept, nullptr, true, out, stopped || *event.finish != FinishReason::kLength ? "stop" : "length");
}

void GenerationJob::emit(size_t index, const std::string& text, const SampledToken* token, bool last,
                         std::vector<ChoiceDelta>& out, std::string finish) {
  Choice& c = choices_[index];
  ChoiceDelta d;
  d.index = int64_t(index);
  // A token is reasoning if the split was inside <think> before or after its text: the tags belong there.
  bool reasoning_token = options_.split_reasoning && c.splitter.in_reasoning();
  if (options_.split_reasoning) {
    ReasoningSplitter::Delta s = c.splitter.push(text);
    if (last) {
      ReasoningSplitter::Delta tail = c.splitter.finish();
      s.reasoning += tail.reasoning;
      s.content += tail.content;
    }
    d.reasoning = std::move(s.reasoning);
    d.content = std::move(s.content);
    reasoning_token = reasoning_token || c.splitter.in_reasoning();
  } else {
    d.content = text;
  }
  if (token && reasoning_token) ++c.reasoning_tokens;
  if (options_.logprobs && token && !tokenizer_.is_special(token->id))
    (reasoning_token ? d.reasoning_logprobs : d.content_logprobs).push_back(*token);
  if (apply_policy(c, d, last)) {
    engine_.cancel(c.id);
    last = true;
    finish = "content_filter";
  }
  parse_tool_calls(c, d, last, finish);
  if (last) {
    c.finished = true;
    ++n_finished_;
    d.finish_reason = std::move(finish);
  }
  if (!d.reasoning.empty() || !d.content.empty() || !d.tool_calls.empty() || !d.reasoning_logprobs.empty() ||
      !d.content_logprobs.empty() || last)
    out.push_back(std::move(d));
}

void GenerationJob::parse_tool_calls(Choice& c, ChoiceDelta& d, bool last, std::string& finish) {
  if (!c.tool_parser) return;
  tools::ToolCallParser::Output t = c.tool_parser->push(d.content);
  if (last) {
    tools::ToolCallParser::Output tail = c.tool_parser->finish();
    t.content += tail.content;
    t.calls.insert(t.calls.end(), tail.calls.begin(), tail.calls.end());
  }
  d.content = std::move(t.content);
  for (tools::ToolCall& call : t.calls) {
    call.id = tools::new_tool_call_id();
    d.tool_calls.push_back(std::move(call));
  }
  if (last && finish == "stop" && c.tool_parser->calls() > 0) finish = "tool_calls";
}

bool GenerationJob::apply_policy(Choice& c, ChoiceDelta& d, bool last) {
  if (!c.content_policy) return false;
  if (!c.reasoning_policy_done) {
    d.reasoning = c.reasoning_policy->push(d.reasoning);
    if (!c.reasoning_policy->stopped() && (!d.content.empty() || last)) {  // the reasoning has ended
      d.reasoning += c.reasoning_policy->finish();
      c.reasoning_policy_done = true;
    }
    if (c.reasoning_policy->stopped()) {  // its stop message ends the reasoning; nothing follows
      d.content.clear();
      return true;
    }
  }
  d.content = c.content_policy->push(d.content);
  if (last && !c.content_policy->stopped()) d.content += c.content_policy->finish();
  return c.content_policy->stopped();
}

}  // namespace whale::server
