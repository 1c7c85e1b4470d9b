// Every fuzz harness on its seed corpus and on the inputs the fuzzers once found
// (tests/data/fuzz/NAME/): each must be read or refused with a one-line InputError, and break no
// invariant. Run in the sanitizer build too (scripts/sanitize-tests.sh).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "harnesses.hpp"
#include "svr_test/files.hpp"

namespace svr::fuzz {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> files_in(const fs::path& folder) {
  std::vector<fs::path> files;
  if (fs::is_directory(folder))
    for (const auto& entry : fs::directory_iterator(folder))
      if (entry.is_regular_file() && entry.path().filename().string().front() != '.')
        files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

class FuzzReplay : public ::testing::TestWithParam<Harness> {};

TEST_P(FuzzReplay, SeedAndRegressionInputsAreReadOrRefused) {
  const Harness& harness = GetParam();
  const std::vector<fs::path> seeds = files_in(fs::path(SVR_FUZZ_SEED_DIR) / harness.name);
  ASSERT_FALSE(seeds.empty()) << "no seed corpus for " << harness.name << " in "
                              << SVR_FUZZ_SEED_DIR;
  std::vector<fs::path> inputs = seeds;
  for (const fs::path& p : files_in(fs::path(SVR_FUZZ_REGRESSION_DIR) / harness.name))
    inputs.push_back(p);
  for (const fs::path& input : inputs) {
    const std::string bytes = test::read_file(input.string());
    try {
      harness.run(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    } catch (const std::exception& error) {
      ADD_FAILURE() << harness.name << " on " << input << ": " << error.what();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Harnesses, FuzzReplay, ::testing::ValuesIn(harnesses()),
                         [](const ::testing::TestParamInfo<Harness>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace svr::fuzz
