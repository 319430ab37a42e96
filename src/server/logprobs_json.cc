#include "server/logprobs_json.h"

#include <string>

#include "tokenizer/utf8.h"

namespace whale::server {
namespace {

using nlohmann::json;

std::string token_text(const Tokenizer& tokenizer, int32_t id) {
  std::string text;
  utf8::append_lossy(tokenizer.token_bytes(id), text);
  return text;
}

json token_json(const Tokenizer& tokenizer, int32_t id, float logprob) {
  json bytes = json::array();
  for (unsigned char b : tokenizer.token_bytes(id)) bytes.push_back(int(b));
  return {{"token", token_text(tokenizer, id)}, {"logprob", logprob}, {"bytes", std::move(bytes)}};
}

json chat_entries(const std::vector<SampledToken>& tokens, const Tokenizer& tokenizer) {
  json entries = json::array();
  for (const SampledToken& t : tokens) {
    json e = token_json(tokenizer, t.id, t.logprob);
    e["top_logprobs"] = json::array();
    for (const TokenLogprob& alt : t.top) e["top_logprobs"].push_back(token_json(tokenizer, alt.id, alt.logprob));
    entries.push_back(std::move(e));
  }
  return entries;
}

}  // namespace

json chat_logprobs_json(const std::vector<SampledToken>& content, const std::vector<SampledToken>& reasoning,
                        const Tokenizer& tokenizer) {
  json out = {{"content", chat_entries(content, tokenizer)}, {"refusal", nullptr}};
  if (!reasoning.empty()) out["reasoning_content"] = chat_entries(reasoning, tokenizer);
  return out;
}

json completion_logprobs_json(const std::vector<SampledToken>& tokens, const Tokenizer& tokenizer, int64_t& offset) {
  json out = {{"tokens", json::array()}, {"token_logprobs", json::array()}, {"top_logprobs", json::array()},
              {"text_offset", json::array()}};
  for (const SampledToken& t : tokens) {
    out["tokens"].push_back(token_text(tokenizer, t.id));
    out["token_logprobs"].push_back(t.logprob);
    json top = json::object();
    for (const TokenLogprob& alt : t.top) top.emplace(token_text(tokenizer, alt.id), alt.logprob);  // first (likelier) wins
    out["top_logprobs"].push_back(std::move(top));
    out["text_offset"].push_back(offset);
    offset += int64_t(tokenizer.token_bytes(t.id).size());
  }
  return out;
}

}  // namespace whale::server
