// Fuzzes the safetensors reader: 8-byte header length, JSON header, tensor table validation, data views.
// The input is the whole file, held in a memfd so SafetensorsFile::open maps it as it would a real file.
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "core/error.h"
#include "fuzz_common.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = memfd_create("fuzz.safetensors", MFD_CLOEXEC);
  FUZZ_REQUIRE(fd >= 0);
  FUZZ_REQUIRE(size == 0 || write(fd, data, size) == ssize_t(size));
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  try {
    const auto file = whale::SafetensorsFile::open(path);
    // Every accepted tensor must lie inside the file: touch its first and last byte.
    for (const auto& [name, info] : file->tensors()) {
      const whale::Tensor t = file->get(name);
      FUZZ_REQUIRE(t.nbytes() == info.nbytes);
      if (info.nbytes == 0) continue;
      const auto* bytes = static_cast<const volatile uint8_t*>(t.raw());
      (void)bytes[0];
      (void)bytes[info.nbytes - 1];
    }
  } catch (const whale::Error&) {
  }
  close(fd);
  return 0;
}
