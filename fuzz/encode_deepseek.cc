// Fuzzes encoding arbitrary bytes with the DeepSeek-V3 tokenizer (added tokens, the three Split regexes,
// ByteLevel, BPE merges). Properties: invalid UTF-8 is a whale::Error; valid text round-trips exactly
// through decode, and streaming decode (one id at a time) equals whole decode.
#include <string>

#include "core/error.h"
#include "fuzz_common.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace {

const whale::Tokenizer& deepseek() {
  static const whale::Tokenizer t = whale::Tokenizer::load(WHALE_FIXTURES_DIR "/tokenizer/deepseek-v3");
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)deepseek();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = whale::fuzz::as_text(data, size);
  const whale::Tokenizer& t = deepseek();
  if (whale::utf8::find_invalid(text) != std::string_view::npos) {
    bool rejected = false;
    try {
      (void)t.encode(text);
    } catch (const whale::Error&) {
      rejected = true;
    }
    FUZZ_REQUIRE(rejected);
    return 0;
  }
  const std::vector<int32_t> ids = t.encode(text);
  FUZZ_REQUIRE(t.decode(ids) == text);
  whale::StreamingDecoder stream(t);
  std::string streamed;
  for (int32_t id : ids) streamed += stream.push(id);
  streamed += stream.finish();
  FUZZ_REQUIRE(streamed == text);
  return 0;
}
