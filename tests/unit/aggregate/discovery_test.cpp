// Which directories are runs, and in which order.
#include "aggregate_test_support.hpp"
#include "svr/core/error.hpp"

namespace svr {
namespace {

using aggregate::discover_runs;
using aggregate::run_index_of;

TEST(RunIndex, LeadingIntegerBeforeDash) {
  EXPECT_EQ(run_index_of("0-resnet"), 0);
  EXPECT_EQ(run_index_of("10-ckpt-3"), 10);
  EXPECT_EQ(run_index_of("007-x"), 7);
  EXPECT_EQ(run_index_of("12-"), 12);
  EXPECT_FALSE(run_index_of("12"));
  EXPECT_FALSE(run_index_of("x-12"));
  EXPECT_FALSE(run_index_of("-3-x"));
  EXPECT_FALSE(run_index_of("1a-x"));
  EXPECT_FALSE(run_index_of(""));
  EXPECT_EQ(run_index_of("9223372036854775807-x"), 9223372036854775807LL);
  EXPECT_FALSE(run_index_of("9223372036854775808-x"));  // beyond int64: ordered by name
}

TEST(Discovery, RootOrdersByIndexThenName) {
  test::TempDir dir;
  const std::string root = dir / "out";
  for (const char* name : {"10-c", "2-b", "9-a", "zeta", "alpha", "0-z"})
    test::write_run(root + "/" + name);
  test::write_file(root + "/list.txt", "not a run\n");         // files are ignored
  std::filesystem::create_directories(root + "/.snapshot/x");  // hidden directories too
  const auto found = discover_runs({root});
  std::vector<std::string> paths;
  std::vector<std::optional<std::int64_t>> indices;
  for (const auto& run : found.runs) {
    paths.push_back(run.path);
    indices.push_back(run.index);
  }
  EXPECT_EQ(paths, (std::vector<std::string>{root + "/0-z", root + "/2-b", root + "/9-a",
                                             root + "/10-c", root + "/alpha", root + "/zeta"}));
  EXPECT_EQ(indices,
            (std::vector<std::optional<std::int64_t>>{0, 2, 9, 10, std::nullopt, std::nullopt}));
  EXPECT_TRUE(found.skipped.empty());
  EXPECT_TRUE(found.repeated.empty());
}

TEST(Discovery, IncompleteRunsAreSkippedWithAReason) {
  test::TempDir dir;
  const std::string root = dir / "out";
  test::write_run(root + "/0-a");
  test::write_run(root + "/1-b.partial-123-abcd");  // a staging dir may already hold summary.json
  test::write_run(root + "/2-c.old-77-ff");
  std::filesystem::create_directories(root + "/3-d");
  test::write_file(root + "/3-d/nodes.csv", "layer\n");
  // Not runs: the sweep's task logs, and a directory named neither <i>-... nor holding a summary.
  std::filesystem::create_directories(root + "/logs");
  test::write_file(root + "/logs/svr-sweep-1_0.out", "log\n");
  std::filesystem::create_directories(root + "/plots");
  const auto found = discover_runs({root});
  ASSERT_EQ(found.runs.size(), 1u);
  EXPECT_EQ(found.runs[0].path, root + "/0-a");
  ASSERT_EQ(found.skipped.size(), 3u);
  EXPECT_EQ(found.skipped[0].path, root + "/1-b.partial-123-abcd");
  EXPECT_NE(found.skipped[0].reason.find("staging"), std::string::npos);
  EXPECT_EQ(found.skipped[1].path, root + "/2-c.old-77-ff");
  EXPECT_EQ(found.skipped[2].path, root + "/3-d");
  EXPECT_EQ(found.skipped[2].reason, "no summary.json");
}

TEST(Discovery, RunDirectoriesRootsAndRepeats) {
  test::TempDir dir;
  test::write_run(dir / "roots/5-x");
  test::write_run(dir / "roots/6-y");
  test::write_run(dir / "single");
  std::filesystem::create_directories(dir / "empty");
  // Arguments keep their order; a run named twice (directly and through its root) counts once.
  const auto found =
      discover_runs({dir / "single", dir / "roots/6-y", dir / "roots/", dir / "empty"});
  ASSERT_EQ(found.runs.size(), 3u);
  EXPECT_EQ(found.runs[0].path, dir / "single");
  EXPECT_FALSE(found.runs[0].index);
  EXPECT_EQ(found.runs[1].path, dir / "roots/6-y");
  EXPECT_EQ(found.runs[1].index, 6);
  EXPECT_EQ(found.runs[2].path, dir / "roots/5-x");  // "roots/" + name: no doubled slash
  EXPECT_EQ(found.repeated, (std::vector<std::string>{dir / "roots/6-y"}));
  ASSERT_EQ(found.skipped.size(), 1u);  // an empty directory is an unfinished run
  EXPECT_EQ(found.skipped[0].path, dir / "empty");
}

TEST(Discovery, MissingArgumentIsAnError) {
  test::TempDir dir;
  test::write_file(dir / "file.csv", "x\n");
  try {
    discover_runs({dir / "nope"});
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), dir / "nope" + ": no such directory");
  }
  EXPECT_THROW(discover_runs({dir / "file.csv"}), InputError);
}

}  // namespace
}  // namespace svr
