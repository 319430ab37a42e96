// Fuzzes the GGUF reader (header, every metadata value type, tensor infos, data bounds) and what is built
// from the metadata alone: the model config of the deepseek2 / qwen2 / llama keys and the tokenizer. The input is the whole
// file, held in a memfd so GgufFile::open maps it as it would a real file.
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "core/error.h"
#include "fuzz_common.h"
#include "io/gguf.h"
#include "model/gguf_model.h"
#include "tokenizer/gguf_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = memfd_create("fuzz.gguf", MFD_CLOEXEC);
  FUZZ_REQUIRE(fd >= 0);
  FUZZ_REQUIRE(size == 0 || write(fd, data, size) == ssize_t(size));
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  try {
    const auto file = whale::GgufFile::open(path);
    // Every accepted tensor of a type whale runs lies inside the file: touch its first and last byte.
    for (const whale::GgufTensorInfo& info : file->tensors()) {
      if (!info.dtype) continue;
      const whale::Tensor t = file->get(info.name);
      FUZZ_REQUIRE(t.nbytes() == info.nbytes);
      if (info.nbytes == 0) continue;
      const auto* bytes = static_cast<const volatile uint8_t*>(t.raw());
      (void)bytes[0];
      (void)bytes[info.nbytes - 1];
    }
    try {
      const whale::Tokenizer tokenizer = whale::tokenizer_from_gguf(file->metadata());
      (void)tokenizer.decode(tokenizer.encode("Hello, 世界 123 <｜end▁of▁sentence｜>"));
    } catch (const whale::Error&) {
    }
    whale::GgufStore store = whale::GgufStore::open(path);
    (void)whale::gguf_model_config(store);
  } catch (const whale::Error&) {
  }
  close(fd);
  return 0;
}
