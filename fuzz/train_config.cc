// Fuzzes the TOML run configurations: the first byte picks `whale train` (even) or `whale rl` (odd) and the
// rest is the config file's text. Anything but a whale::Error naming the problem is a finding (toml++'s
// own parse errors included).
#include "core/error.h"
#include "fuzz_common.h"
#include "rl/grpo_config.h"
#include "train/train_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text = whale::fuzz::as_text(data + 1, size - 1);
  try {
    if (data[0] % 2 == 0) {
      // An accepted config has a runnable shape (products of its sizes would overflow under UBSan).
      const whale::TrainConfig c = whale::parse_train_config(text, "fuzz.toml");
      FUZZ_REQUIRE(c.train.steps > 0 && c.train.seq_len > 0);
      FUZZ_REQUIRE(c.train.batch_tokens == c.train.batch_size * c.train.seq_len * c.train.grad_accum);
    } else {
      const whale::rl::GrpoConfig c = whale::rl::parse_grpo_config(text, "fuzz.toml");
      FUZZ_REQUIRE(c.optimizer_steps() > 0);
    }
  } catch (const whale::Error&) {
  }
  return 0;
}
