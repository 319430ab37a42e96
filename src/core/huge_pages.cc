#include "core/huge_pages.h"

#include <sys/mman.h>

#include <cstdint>

#include "core/error.h"

namespace whale {

std::shared_ptr<char> allocate_huge_pages(size_t bytes) {
  constexpr size_t kHuge = size_t(2) << 20;
  const size_t size = (bytes + kHuge - 1) / kHuge * kHuge + kHuge;  // room to align the start
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) fail("cannot allocate {} MiB for the model weights", bytes >> 20);
  char* aligned = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(p) + kHuge - 1) / kHuge * kHuge);
  ::madvise(aligned, size - size_t(aligned - static_cast<char*>(p)) , MADV_HUGEPAGE);  // a hint; fine if refused
  return std::shared_ptr<char>(aligned, [p, size](char*) { ::munmap(p, size); });
}

}  // namespace whale
