// keep_freed_memory: a large block comes from the heap, not from mmap, and its pages stay with
// the process after it is freed, so the next large block reuses them.
#include "svr/core/allocator.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

TEST(Allocator, KeepsAFreedLargeBlockForTheNextOne) {
#if !defined(__GLIBC__)
  GTEST_SKIP() << "glibc only";
#else
  svr::keep_freed_memory();
  constexpr std::size_t kBytes = 256u << 20;  // far above glibc's largest mmap threshold
  const std::size_t mapped_before = mallinfo2().hblkhd;
  auto* block = static_cast<char*>(std::malloc(kBytes));
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, kBytes);
  EXPECT_EQ(mallinfo2().hblkhd, mapped_before);  // not an mmap'ed block
  std::free(block);
  const struct mallinfo2 after = mallinfo2();
  EXPECT_GE(after.arena, kBytes);     // the heap kept its pages
  EXPECT_GE(after.fordblks, kBytes);  // free for the next block
#endif
}
