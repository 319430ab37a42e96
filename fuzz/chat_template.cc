// Fuzzes chat-template rendering with the DeepSeek-V3 template: the input is a JSON request
// {"messages": [...], "add_generation_prompt": bool} (or a bare messages array) with arbitrary contents.
// The rendered prompt is then encoded, as the server does with it.
#include <string>

#include "core/error.h"
#include "fuzz_common.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace {

constexpr const char* kDir = WHALE_FIXTURES_DIR "/tokenizer/deepseek-v3";

const whale::Tokenizer& deepseek() {
  static const whale::Tokenizer t = whale::Tokenizer::load(kDir);
  return t;
}

const whale::ChatTemplate& deepseek_template() {
  static const whale::ChatTemplate t = whale::ChatTemplate::from_tokenizer_config(deepseek().config(), kDir);
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)deepseek_template();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json j = whale::fuzz::parse_json(whale::fuzz::as_text(data, size));
  if (j.is_discarded()) return 0;
  nlohmann::json messages = j;
  bool add_generation_prompt = false;
  if (j.is_object()) {
    messages = j.contains("messages") ? j["messages"] : nlohmann::json();
    if (j.contains("add_generation_prompt") && j["add_generation_prompt"].is_boolean())
      add_generation_prompt = j["add_generation_prompt"].get<bool>();
  }
  try {
    const std::string rendered = deepseek_template().render(messages, add_generation_prompt);
    (void)deepseek().encode(rendered);
  } catch (const whale::Error&) {
  }
  return 0;
}
