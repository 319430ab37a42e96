#include "core/allocator.h"

#include <malloc.h>

namespace whale {

void keep_large_allocations_in_heap() {
  // glibc caps M_MMAP_THRESHOLD at 32 MiB on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX); larger requests still mmap.
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);  // give memory back to the OS only when over 1 GiB is free at the top
}

}  // namespace whale
