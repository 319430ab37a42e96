// Fuzzes the training-data reader (`whale data build` output, read by the DataLoader): header, sizes and
// contents. The input is the whole file, held in a memfd.
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "core/error.h"
#include "fuzz_common.h"
#include "train/token_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = memfd_create("fuzz.tokens", MFD_CLOEXEC);
  FUZZ_REQUIRE(fd >= 0);
  FUZZ_REQUIRE(size == 0 || write(fd, data, size) == ssize_t(size));
  try {
    // Whatever is accepted is what the DataLoader relies on: ids inside the vocabulary, a 0/1 mask per token.
    const whale::TokenData d = whale::read_token_file("/proc/self/fd/" + std::to_string(fd));
    FUZZ_REQUIRE(d.vocab_size > 0);
    FUZZ_REQUIRE(!d.has_mask() || d.mask.size() == d.ids.size());
    for (size_t i = 0; i < d.ids.size(); ++i) {
      FUZZ_REQUIRE(d.ids[i] < d.vocab_size);
      FUZZ_REQUIRE(!d.has_mask() || d.mask[i] <= 1);
    }
  } catch (const whale::Error&) {
  }
  close(fd);
  return 0;
}
