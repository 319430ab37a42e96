// Process-wide malloc settings. Training builds a fresh tape of large activation buffers every step; with
// glibc's defaults each buffer over 128 KiB is its own mmap, so every step pays for unmapping and
// re-faulting zeroed pages (measured: 3× slower training, most of it system time). Keeping large blocks in
// the heap lets freed buffers be reused.
#pragma once

namespace whale {

// Raises the mmap threshold to its maximum and stops trimming the heap top. Call once at start-up.
void keep_large_allocations_in_heap();

}  // namespace whale
