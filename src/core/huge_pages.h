// Anonymous memory backed by transparent huge pages (2 MiB) where the kernel allows it: streaming weights
// through 4 KiB pages of a file mapping costs about half the decode bandwidth in TLB misses.
#pragma once

#include <cstddef>
#include <memory>

namespace whale {

// Zero-filled, 2 MiB-aligned, madvise(MADV_HUGEPAGE)'d. Throws whale::Error if the memory is not available.
std::shared_ptr<char> allocate_huge_pages(size_t bytes);

}  // namespace whale
