// The libFuzzer entry point of one harness, chosen at compile time (tests/fuzz/CMakeLists.txt
// builds one fuzz_NAME binary per harness with -DSVR_FUZZ_HARNESS=NAME).
#include <cstddef>
#include <cstdint>

#include "harnesses.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // A Finding or any exception other than InputError escapes: std::terminate aborts, and
  // libFuzzer saves the input as a crash.
  svr::fuzz::SVR_FUZZ_HARNESS(data, size);
  return 0;
}
