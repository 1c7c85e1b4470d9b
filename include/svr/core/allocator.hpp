#pragma once
// How the process allocates its large matrices (see docs/algorithms.md, "Freed memory is kept").

namespace svr {

// Makes the C library keep the memory svr frees and hand it out again, instead of returning it
// to the system and taking fresh pages for the next matrix: every fresh page costs a page fault
// and the kernel's zeroing, which on a virtual machine made up a tenth of a VGG16 run. Call
// once, first thing in main, before any thread starts. A no-op without glibc, or with
// SVR_RETURN_FREED_MEMORY=1 in the environment (for a job short of memory rather than time:
// keeping freed memory costs 7-12 % more peak memory per rank on VGG16).
void keep_freed_memory();

}  // namespace svr
