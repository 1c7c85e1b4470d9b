// keep_freed_memory: a large block comes from the heap, not from mmap, and its pages stay with
// the process after it is freed, so the next large block reuses them; SVR_RETURN_FREED_MEMORY=1
// leaves glibc as it is. Each case runs in a child process (the setting is process-wide).
#include "svr/core/allocator.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

// A sanitizer brings its own allocator: glibc's settings and statistics do not apply there.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || defined(__SANITIZE_MEMORY__)
#define SVR_OWN_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define SVR_OWN_ALLOCATOR 1
#endif
#endif

#if defined(__GLIBC__) && !defined(SVR_OWN_ALLOCATOR)
#include <malloc.h>

namespace {

constexpr std::size_t kBytes = 256u << 20;  // far above glibc's largest mmap threshold

// Exit code 0: the block came from the heap and its pages stayed free in it; 1: it was mapped
// on its own; 2: its pages were given back.
[[noreturn]] void allocate_and_report() {
  const std::size_t mapped_before = mallinfo2().hblkhd;
  auto* block = static_cast<char*>(std::malloc(kBytes));
  if (block == nullptr) std::_Exit(3);
  const bool mapped = mallinfo2().hblkhd > mapped_before;
  std::free(block);
  const struct mallinfo2 after = mallinfo2();
  std::_Exit(mapped ? 1 : after.arena >= kBytes && after.fordblks >= kBytes ? 0 : 2);
}

}  // namespace

TEST(Allocator, KeepsAFreedLargeBlockForTheNextOne) {
  EXPECT_EXIT(
      {
        unsetenv("SVR_RETURN_FREED_MEMORY");
        svr::keep_freed_memory();
        allocate_and_report();
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(Allocator, TheEnvironmentVariableLeavesGlibcAsItIs) {
  EXPECT_EXIT(
      {
        setenv("SVR_RETURN_FREED_MEMORY", "1", 1);
        svr::keep_freed_memory();
        allocate_and_report();
      },
      ::testing::ExitedWithCode(1), "");
}

#else

TEST(Allocator, KeepsAFreedLargeBlockForTheNextOne) {
  svr::keep_freed_memory();  // harmless where it does nothing
  GTEST_SKIP() << "glibc's own allocator only (not under a sanitizer)";
}

#endif
