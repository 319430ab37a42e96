// Fuzzes config.json → ModelConfig: field parsing, rope scaling, MoE/MLA fields and validate(), then the
// derived quantities a loader computes first (parameter count, attention scale).
#include "core/error.h"
#include "fuzz_common.h"
#include "model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json j = whale::fuzz::parse_json(whale::fuzz::as_text(data, size));
  if (j.is_discarded()) return 0;
  try {
    const whale::ModelConfig c = whale::ModelConfig::from_json(j, "config.json");
    // validate() passed, so the sizes are bounded: the parameter count must not overflow.
    FUZZ_REQUIRE(c.n_params() > 0);
    (void)c.attention_scale();
    for (int64_t layer = 0; layer < c.n_layer; ++layer) (void)c.is_moe_layer(layer);
  } catch (const whale::Error&) {
  }
  return 0;
}
