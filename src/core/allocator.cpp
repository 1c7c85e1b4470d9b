#include "svr/core/allocator.hpp"

#include <climits>
#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace svr {

void keep_freed_memory() {
#if defined(__GLIBC__)
  if (const char* off = std::getenv("SVR_RETURN_FREED_MEMORY");
      off != nullptr && std::strcmp(off, "1") == 0)
    return;
  // glibc serves blocks above 32 MiB (the largest mmap threshold) with mmap and unmaps them
  // when freed, so each factor, workspace and product buffer is first-touched anew. Taking
  // every block from the heap instead (no mmap; glibc still falls back to it when the heap
  // cannot grow) and never trimming below 2 GiB lets later matrices reuse freed pages. The peak
  // resident memory grows by the fragmentation of the heap (7-12 % per rank on VGG16 at 2
  // ranks).
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
#endif
}

}  // namespace svr
