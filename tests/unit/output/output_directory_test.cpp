// OutputDirectory: OUTDIR appears complete or not at all.
#include "svr/output/output_directory.hpp"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "svr/core/error.hpp"
#include "test_support.hpp"

namespace svr {
namespace {

namespace fs = std::filesystem;

// The message of the OutputError thrown by f, or "" (and a failure) if none.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const OutputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected OutputError";
  return "";
}

TEST(OutputDirectory, StagesNextToOutdirAndCommitRenames) {
  test::TempDir tmp;
  const std::string outdir = tmp / "out";
  OutputDirectory dir(outdir, false);
  const std::string prefix = outdir + ".partial-" + std::to_string(::getpid()) + "-";
  EXPECT_EQ(dir.staging_path().rfind(prefix, 0), 0u) << dir.staging_path();
  EXPECT_EQ(dir.file("nodes.csv"), dir.staging_path() + "/nodes.csv");
  EXPECT_TRUE(fs::is_directory(dir.staging_path()));
  EXPECT_FALSE(fs::exists(outdir));
  test::write_file(dir.file("nodes.csv"), "layer\n");
  dir.commit();
  EXPECT_TRUE(dir.committed());
  EXPECT_EQ(test::read_file(outdir + "/nodes.csv"), "layer\n");
  EXPECT_EQ(test::list_dir(tmp.path()), std::vector<std::string>{"out"});
  EXPECT_THROW(dir.commit(), OutputError);
}

TEST(OutputDirectory, DestructorRemovesStagingOnException) {
  test::TempDir tmp;
  const std::string outdir = tmp / "out";
  std::string staging;
  try {
    OutputDirectory dir(outdir, false);
    staging = dir.staging_path();
    fs::create_directories(dir.file("sub"));
    test::write_file(dir.file("sub/half.csv"), "half");
    test::write_file(dir.file("edges.csv"), "half");
    throw std::runtime_error("computation failed");
  } catch (const std::runtime_error&) {
  }
  EXPECT_FALSE(staging.empty());
  EXPECT_FALSE(fs::exists(staging));
  EXPECT_FALSE(fs::exists(outdir));
  EXPECT_TRUE(test::list_dir(tmp.path()).empty());
}

TEST(OutputDirectory, ExistingOutdirWithoutForceIsRefusedAndUntouched) {
  test::TempDir tmp;
  const std::string outdir = tmp / "out";
  fs::create_directory(outdir);
  test::write_file(outdir + "/summary.json", "old");
  EXPECT_EQ(error_of([&] { OutputDirectory dir(outdir, false); }),
            outdir + ": already exists (use --force to replace it)");
  EXPECT_EQ(test::read_file(outdir + "/summary.json"), "old");
  EXPECT_EQ(test::list_dir(tmp.path()), std::vector<std::string>{"out"});
}

TEST(OutputDirectory, ForceReplacesAnOldOutput) {
  test::TempDir tmp;
  const std::string outdir = tmp / "out";
  fs::create_directory(outdir);
  test::write_file(outdir + "/summary.json", "old");
  test::write_file(outdir + "/old-only.csv", "old");
  OutputDirectory dir(outdir, true);
  EXPECT_EQ(test::read_file(outdir + "/summary.json"), "old");  // untouched until commit
  test::write_file(dir.file("summary.json"), "new");
  dir.commit();
  EXPECT_EQ(test::list_dir(outdir), std::vector<std::string>{"summary.json"});
  EXPECT_EQ(test::read_file(outdir + "/summary.json"), "new");
  EXPECT_EQ(test::list_dir(tmp.path()), std::vector<std::string>{"out"});  // no .old-* left
}

TEST(OutputDirectory, ForceReplacesAnEmptyDirectoryAndASymlink) {
  test::TempDir tmp;
  fs::create_directory(tmp / "empty");
  OutputDirectory a(tmp / "empty", true);
  test::write_file(a.file("x"), "new");
  a.commit();
  EXPECT_EQ(test::read_file(tmp / "empty/x"), "new");

  fs::create_directory(tmp / "target");
  test::write_file(tmp / "target/keep", "keep");
  fs::create_directory_symlink(tmp / "target", tmp / "link");
  OutputDirectory b(tmp / "link", true);
  b.commit();
  EXPECT_FALSE(fs::is_symlink(tmp / "link"));
  EXPECT_EQ(test::read_file(tmp / "target/keep"), "keep");  // only the link went
}

// --force must not wipe a directory that is not an svr output (think `-o ~ --force`).
TEST(OutputDirectory, ForceRefusesForeignDirectoriesAndFiles) {
  test::TempDir tmp;
  fs::create_directory(tmp / "home");
  test::write_file(tmp / "home/thesis.tex", "precious");
  const std::string message = error_of([&] { OutputDirectory dir(tmp / "home", true); });
  EXPECT_NE(message.find("does not look like an svr output directory"), std::string::npos);
  EXPECT_EQ(test::read_file(tmp / "home/thesis.tex"), "precious");

  test::write_file(tmp / "file", "precious");
  EXPECT_NE(error_of([&] { OutputDirectory dir(tmp / "file", true); }).find("not a directory"),
            std::string::npos);
  EXPECT_EQ(test::read_file(tmp / "file"), "precious");
  EXPECT_EQ(test::list_dir(tmp.path()), (std::vector<std::string>{"file", "home"}));
}

TEST(OutputDirectory, OutdirCreatedDuringTheRunIsNotOverwritten) {
  test::TempDir tmp;
  const std::string outdir = tmp / "out";
  OutputDirectory dir(outdir, false);
  test::write_file(dir.file("nodes.csv"), "new");
  fs::create_directory(outdir);  // empty: plain rename(2) would silently replace it
  EXPECT_EQ(error_of([&] { dir.commit(); }),
            outdir + ": already exists (use --force to replace it)");
  EXPECT_FALSE(dir.committed());
  EXPECT_TRUE(fs::is_empty(outdir));
}

TEST(OutputDirectory, ParentThatIsAFileOrMissing) {
  test::TempDir tmp;
  test::write_file(tmp / "file.txt", "x");
  const std::string below_file = tmp / "file.txt/out";
  EXPECT_EQ(error_of([&] { OutputDirectory dir(below_file, false); }),
            below_file + ": parent directory '" + (tmp / "file.txt") +
                "' is not writable: Not a directory");
  const std::string below_missing = tmp / "missing/out";
  EXPECT_EQ(error_of([&] { OutputDirectory dir(below_missing, false); }),
            below_missing + ": parent directory '" + (tmp / "missing") +
                "' is not writable: No such file or directory");
  EXPECT_EQ(test::list_dir(tmp.path()), std::vector<std::string>{"file.txt"});
}

TEST(OutputDirectory, UnwritableParent) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  test::TempDir tmp;
  fs::create_directory(tmp / "ro");
  ASSERT_EQ(::chmod((tmp / "ro").c_str(), 0555), 0);
  const std::string outdir = tmp / "ro/out";
  const std::string message = error_of([&] { OutputDirectory dir(outdir, false); });
  EXPECT_EQ(message, outdir + ": parent directory '" + (tmp / "ro") +
                         "' is not writable: Permission denied");
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

TEST(OutputDirectory, NamesThatAreNotANewDirectory) {
  EXPECT_NE(error_of([] { OutputDirectory dir("", false); }).find("empty"), std::string::npos);
  EXPECT_NE(error_of([] { OutputDirectory dir(".", true); }).find("not usable"), std::string::npos);
  EXPECT_NE(error_of([] { OutputDirectory dir("/", true); }).find("not usable"), std::string::npos);
  EXPECT_NE(error_of([] { OutputDirectory dir("a/..", true); }).find("not usable"),
            std::string::npos);
}

TEST(OutputDirectory, TrailingSlashAndRelativePath) {
  test::TempDir tmp;
  OutputDirectory a(tmp / "out/", false);
  EXPECT_EQ(a.outdir(), tmp / "out");
  a.commit();
  EXPECT_TRUE(fs::is_directory(tmp / "out"));

  const fs::path cwd = fs::current_path();
  fs::current_path(tmp.path());
  {
    OutputDirectory b("rel", false);
    EXPECT_EQ(b.staging_path().rfind("rel.partial-", 0), 0u);
    b.commit();
  }
  fs::current_path(cwd);
  EXPECT_TRUE(fs::is_directory(tmp / "rel"));
}

TEST(OutputDirectory, MoveTransfersOwnership) {
  test::TempDir tmp;
  std::string staging;
  {
    OutputDirectory a(tmp / "out", false);
    staging = a.staging_path();
    OutputDirectory b(std::move(a));
    EXPECT_TRUE(fs::exists(staging));  // a's destructor must not remove b's directory
    OutputDirectory c(tmp / "other", false);
    c = std::move(b);  // c's own staging directory is discarded
    EXPECT_EQ(c.staging_path(), staging);
    EXPECT_EQ(test::list_dir(tmp.path()).size(), 1u);
    c.commit();
  }
  EXPECT_EQ(test::list_dir(tmp.path()), std::vector<std::string>{"out"});
}

// --- Termination: the staging registry that the signal thread empties (termination.hpp) ---

// abandon_staging_directories() is final for the process, so every test of it runs in a child
// process (a gtest death test) that reports its own checks through its exit status and stderr.
template <typename F>
int checked(F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "exception: %s\n", e.what());
    return 99;
  }
}

#define CHILD_CHECK(condition)                                      \
  do {                                                              \
    if (!(condition)) {                                             \
      std::fprintf(stderr, "child check failed: %s\n", #condition); \
      return 1;                                                     \
    }                                                               \
  } while (false)

TEST(StagingRegistry, TheOwnerStagesUnderTheReservedName) {
  test::TempDir tmp;
  reserve_staging_name(tmp / "out/", "-4242-0badcafe");
  OutputDirectory dir(tmp / "out", false);
  EXPECT_EQ(dir.staging_path(), tmp / "out.partial-4242-0badcafe");
  test::write_file(dir.file("summary.json"), "x");
  dir.commit();
  EXPECT_EQ(test::list_dir(tmp.path()), std::vector<std::string>{"out"});
  // Used once: a second output directory for the same OUTDIR gets a fresh name.
  OutputDirectory again(tmp / "out", true);
  EXPECT_NE(again.staging_path(), tmp / "out.partial-4242-0badcafe");
}

TEST(StagingRegistryDeathTest, AbandonRemovesOwnStagingAndStopsCommits) {
  test::TempDir tmp;
  const std::string outdir = tmp / "out";
  EXPECT_EXIT(std::_Exit(checked([&] {
                OutputDirectory dir(outdir, false);
                test::write_file(dir.file("nodes.csv"), "half");
                test::write_file(dir.file("edges.csv"), "half");
                const std::vector<std::string> lost = abandon_staging_directories();
                CHILD_CHECK(lost == std::vector<std::string>{outdir});
                CHILD_CHECK(test::list_dir(tmp.path()).empty());
                try {
                  dir.commit();
                  return 2;
                } catch (const OutputError& e) {
                  CHILD_CHECK(std::string(e.what()).find("terminating") != std::string::npos);
                }
                try {
                  OutputDirectory late(tmp / "late", false);
                  return 3;
                } catch (const OutputError&) {
                }
                CHILD_CHECK(test::list_dir(tmp.path()).empty());
                return 0;
              })),
              ::testing::ExitedWithCode(0), "");
  EXPECT_TRUE(test::list_dir(tmp.path()).empty());
}

// Rank 1 knows the name of the directory rank 0 created and removes it, e.g. after rank 0
// crashed and the launcher terminated rank 1; a committed OUTDIR is left alone.
TEST(StagingRegistryDeathTest, AbandonRemovesReservedStagingOfAnotherRankOnly) {
  test::TempDir tmp;
  const std::string reserved = tmp / "a.partial-7-00000001";
  fs::create_directory(reserved);
  test::write_file(reserved + "/edges.csv", "half");
  fs::create_directory(tmp / "b");
  test::write_file(tmp / "b/summary.json", "done");
  fs::create_directory(tmp / "b.partial-8-00000002");  // another job's, not reserved here
  EXPECT_EXIT(std::_Exit(checked([&] {
                reserve_staging_name(tmp / "a", "-7-00000001");
                reserve_staging_name(tmp / "c", "-9-00000003");      // never created: no error
                CHILD_CHECK(abandon_staging_directories().empty());  // none of them its own
                return 0;
              })),
              ::testing::ExitedWithCode(0), "");
  EXPECT_EQ(test::list_dir(tmp.path()), (std::vector<std::string>{"b", "b.partial-8-00000002"}));
  EXPECT_EQ(test::read_file(tmp / "b/summary.json"), "done");
}

// A directory that happens to bear the reserved name is someone else's: stage elsewhere and
// never remove it.
TEST(StagingRegistryDeathTest, ATakenReservedNameIsNeverRemoved) {
  test::TempDir tmp;
  const std::string foreign = tmp / "out.partial-5-00000005";
  fs::create_directory(foreign);
  test::write_file(foreign + "/keep", "keep");
  EXPECT_EXIT(std::_Exit(checked([&] {
                reserve_staging_name(tmp / "out", "-5-00000005");
                OutputDirectory dir(tmp / "out", false);
                CHILD_CHECK(dir.staging_path() != foreign);
                CHILD_CHECK(abandon_staging_directories() == std::vector<std::string>{tmp / "out"});
                return 0;
              })),
              ::testing::ExitedWithCode(0), "");
  EXPECT_EQ(test::list_dir(tmp.path()), std::vector<std::string>{"out.partial-5-00000005"});
  EXPECT_EQ(test::read_file(foreign + "/keep"), "keep");
}

// The invariant a signal during commit must keep: afterwards OUTDIR is complete and no staging
// directory remains, or neither exists (and commit failed). The signal thread is a second
// thread of the same process here; another rank is a second process (next test).
TEST(StagingRegistryDeathTest, AbandonDuringCommitInAnotherThread) {
  for (int round = 0; round < 20; ++round) {
    test::TempDir tmp;
    const std::string outdir = tmp / "out";
    EXPECT_EXIT(std::_Exit(checked([&] {
                  OutputDirectory dir(outdir, false);
                  for (int i = 0; i < 50; ++i)
                    test::write_file(dir.file("f" + std::to_string(i)), std::to_string(i));
                  std::atomic<bool> go{false};
                  std::vector<std::string> lost;
                  std::thread signal_thread([&] {
                    while (!go.load()) {
                    }
                    for (int spin = 0; spin < round * 2000; ++spin)
                      std::atomic_signal_fence(std::memory_order_seq_cst);
                    lost = abandon_staging_directories();
                  });
                  bool committed = true;
                  go.store(true);
                  try {
                    dir.commit();
                  } catch (const OutputError&) {
                    committed = false;
                  }
                  signal_thread.join();
                  const std::vector<std::string> left = test::list_dir(tmp.path());
                  if (committed) {
                    CHILD_CHECK(lost.empty());
                    CHILD_CHECK(left == std::vector<std::string>{"out"});
                    CHILD_CHECK(test::list_dir(outdir).size() == 50u);
                  } else {
                    CHILD_CHECK(lost == std::vector<std::string>{outdir});
                    CHILD_CHECK(left.empty());
                  }
                  return 0;
                })),
                ::testing::ExitedWithCode(0), "")
        << "round " << round;
  }
}

TEST(StagingRegistry, AbandonDuringCommitInAnotherProcess) {
  int committed_rounds = 0, abandoned_rounds = 0;
  for (int round = 0; round < 20; ++round) {
    test::TempDir tmp;
    const std::string outdir = tmp / "out";
    reserve_staging_name(outdir, "-11-0000000" + std::to_string(round % 10));
    OutputDirectory dir(outdir, false);
    for (int i = 0; i < 50; ++i)
      test::write_file(dir.file("f" + std::to_string(i)), std::to_string(i));
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {  // "rank 1": knows the reserved name, terminated now
      // From at once to after the commit: both outcomes occur over the rounds.
      std::this_thread::sleep_for(std::chrono::microseconds(round * round * 250));
      abandon_staging_directories();
      std::_Exit(0);
    }
    bool committed = true;
    try {
      dir.commit();
    } catch (const OutputError&) {
      committed = false;
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    const std::vector<std::string> left = test::list_dir(tmp.path());
    if (committed) {
      ++committed_rounds;
      EXPECT_EQ(left, std::vector<std::string>{"out"}) << "round " << round;
      EXPECT_EQ(test::list_dir(outdir).size(), 50u) << "round " << round;
    } else {
      ++abandoned_rounds;
      EXPECT_TRUE(left.empty()) << "round " << round;
    }
  }
  std::printf("committed %d rounds, abandoned %d\n", committed_rounds, abandoned_rounds);
}

}  // namespace
}  // namespace svr
