// Fuzzes tokenizer.json loading (model vocab and merges, added tokens, normalizer, pre-tokenizer regexes,
// decoder), then encodes and decodes a fixed text with whatever loaded.
#include "core/error.h"
#include "fuzz_common.h"
#include "tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json j = whale::fuzz::parse_json(whale::fuzz::as_text(data, size));
  if (j.is_discarded()) return 0;
  try {
    const whale::Tokenizer t = whale::Tokenizer::from_json(j, nlohmann::json::object(), "tokenizer.json");
    const std::vector<int32_t> ids = t.encode("Hello wörld <s> 123 \xC3\xA9" "e\xCC\x81\n\t 你好");
    for (int32_t id : ids) FUZZ_REQUIRE(t.is_valid_id(id));
    (void)t.decode(ids);
    (void)t.decode(ids, /*skip_special_tokens=*/true);
  } catch (const whale::Error&) {
  }
  return 0;
}
