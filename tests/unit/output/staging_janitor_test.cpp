// The staging janitor: what it removes from the messages it read, and the real process removing
// a watched directory after the rank that started it is SIGKILLed (and not after a disarm).
#include "svr/output/staging_janitor.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "svr_test/files.hpp"
#include "svr_test/temp_dir.hpp"

namespace svr {
namespace {

namespace fs = std::filesystem;

void make_tree(const fs::path& dir) {
  fs::create_directories(dir / "sub");
  test::write_file((dir / "nodes.csv").string(), "layer\n");
  test::write_file((dir / "sub" / "part").string(), "x");
}

TEST(StagingJanitor, RemovesWatchedNamesAndTheirRemovingSiblingsOnly) {
  test::TempDir dir;
  const fs::path staging = fs::path(dir.path()) / "out.partial-1-ab";
  make_tree(staging);
  make_tree(fs::path(dir.path()) / "out.partial-1-ab.removing-1-cd");  // renamed, cut short
  make_tree(fs::path(dir.path()) / "out");                             // OUTDIR: never touched
  make_tree(fs::path(dir.path()) / "out.partial-2-ef");                // another run's
  make_tree(fs::path(dir.path()) / "forgotten.partial-1-gh");
  const std::string messages = "+" + staging.string() + "\n+" + dir.path() +
                               "/forgotten.partial-1-gh\n-" + dir.path() +
                               "/forgotten.partial-1-gh\n+" + dir.path() + "/cut-sho";
  EXPECT_EQ(detail::janitor_cleanup(messages), 2);
  EXPECT_FALSE(fs::exists(staging));
  EXPECT_FALSE(fs::exists(fs::path(dir.path()) / "out.partial-1-ab.removing-1-cd"));
  EXPECT_TRUE(fs::exists(fs::path(dir.path()) / "out" / "sub" / "part"));
  EXPECT_TRUE(fs::exists(fs::path(dir.path()) / "out.partial-2-ef"));
  EXPECT_TRUE(fs::exists(fs::path(dir.path()) / "forgotten.partial-1-gh"));
}

TEST(StagingJanitor, DisarmedRemovesNothing) {
  test::TempDir dir;
  const fs::path staging = fs::path(dir.path()) / "out.partial-1-ab";
  make_tree(staging);
  EXPECT_EQ(detail::janitor_cleanup("+" + staging.string() + "\n!\n"), 0);
  EXPECT_TRUE(fs::exists(staging / "nodes.csv"));
}

// Forks a "rank" that starts its janitor, watches `staging`, optionally disarms, then dies by
// SIGKILL; returns once the rank is reaped.
void run_rank_and_kill(const fs::path& staging, bool disarm) {
  const pid_t rank = ::fork();
  ASSERT_GE(rank, 0);
  if (rank == 0) {
    if (!start_staging_janitor(JanitorProcess::Fork)) ::_exit(3);
    janitor_watch(staging.string());
    if (disarm) janitor_disarm();
    ::raise(SIGKILL);
    ::_exit(4);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(rank, &status, 0), rank);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the rank exited with " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

bool gone_within(const fs::path& path, std::chrono::seconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (fs::exists(path)) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

TEST(StagingJanitor, RemovesTheStagingDirectoryOfAKilledRank) {
  test::TempDir dir;
  const fs::path staging = fs::path(dir.path()) / "out.partial-7-ab";
  make_tree(staging);
  make_tree(fs::path(dir.path()) / "out.partial-7-ab.removing-7-cd");
  run_rank_and_kill(staging, false);
  // The janitor runs on its own after the rank's death; a loaded machine may delay it.
  EXPECT_TRUE(gone_within(staging, std::chrono::seconds(30)));
  EXPECT_TRUE(gone_within(fs::path(dir.path()) / "out.partial-7-ab.removing-7-cd",
                          std::chrono::seconds(30)));
}

TEST(StagingJanitor, ADisarmedJanitorLeavesTheDirectory) {
  test::TempDir dir;
  const fs::path staging = fs::path(dir.path()) / "out.partial-8-ab";
  make_tree(staging);
  run_rank_and_kill(staging, true);
  // Its removal, were it to happen, would follow the rank's death by milliseconds.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_TRUE(fs::exists(staging / "sub" / "part"));
}

}  // namespace
}  // namespace svr
