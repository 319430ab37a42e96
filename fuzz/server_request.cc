// Fuzzes the OpenAI request parsing of the server (request body → validated chat / completion request).
// The first byte picks the endpoint, the rest is the body. Every rejection must be an HttpError with a 4xx
// status; an accepted chat request holds {role, content} messages whose content is a string (or null beside
// tool_calls); an accepted completion request holds 1 to max_n non-empty prompts and best_of in [n, max_n].
#include <string>

#include "fuzz_common.h"
#include "server/request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool chat = data[0] & 1;
  const std::string body(whale::fuzz::as_text(data + 1, size - 1));
  const whale::server::ServerLimits limits;
  try {
    if (chat) {
      const whale::server::ChatRequest r = whale::server::parse_chat_request(body, limits);
      FUZZ_REQUIRE(r.messages.is_array() && !r.messages.empty());
      for (const nlohmann::json& m : r.messages)
        FUZZ_REQUIRE(m["role"].is_string() &&
                     (m["content"].is_string() || (m["content"].is_null() && m.contains("tool_calls"))));
      FUZZ_REQUIRE(r.gen.n >= 1 && r.gen.n <= limits.max_n);
    } else {
      const whale::server::CompletionRequest r = whale::server::parse_completion_request(body, limits);
      FUZZ_REQUIRE(!r.prompts.empty() && int64_t(r.prompts.size()) * r.best_of <= limits.max_n);
      FUZZ_REQUIRE(r.best_of >= r.gen.n);
      for (const whale::server::CompletionPrompt& p : r.prompts) FUZZ_REQUIRE(p.ids ? !p.ids->empty() : !p.text.empty());
    }
  } catch (const whale::server::HttpError& e) {
    FUZZ_REQUIRE(e.status() >= 400 && e.status() < 500);
  }
  return 0;
}
