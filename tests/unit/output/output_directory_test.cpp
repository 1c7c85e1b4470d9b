// OutputDirectory: OUTDIR appears complete or not at all.
#include "svr/output_directory.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include "svr/error.hpp"
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
  test::write_text(dir.file("nodes.csv"), "layer\n");
  dir.commit();
  EXPECT_TRUE(dir.committed());
  EXPECT_EQ(test::read_text(outdir + "/nodes.csv"), "layer\n");
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
    test::write_text(dir.file("sub/half.csv"), "half");
    test::write_text(dir.file("edges.csv"), "half");
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
  test::write_text(outdir + "/summary.json", "old");
  EXPECT_EQ(error_of([&] { OutputDirectory dir(outdir, false); }),
            outdir + ": already exists (use --force to replace it)");
  EXPECT_EQ(test::read_text(outdir + "/summary.json"), "old");
  EXPECT_EQ(test::list_dir(tmp.path()), std::vector<std::string>{"out"});
}

TEST(OutputDirectory, ForceReplacesAnOldOutput) {
  test::TempDir tmp;
  const std::string outdir = tmp / "out";
  fs::create_directory(outdir);
  test::write_text(outdir + "/summary.json", "old");
  test::write_text(outdir + "/old-only.csv", "old");
  OutputDirectory dir(outdir, true);
  EXPECT_EQ(test::read_text(outdir + "/summary.json"), "old");  // untouched until commit
  test::write_text(dir.file("summary.json"), "new");
  dir.commit();
  EXPECT_EQ(test::list_dir(outdir), std::vector<std::string>{"summary.json"});
  EXPECT_EQ(test::read_text(outdir + "/summary.json"), "new");
  EXPECT_EQ(test::list_dir(tmp.path()), std::vector<std::string>{"out"});  // no .old-* left
}

TEST(OutputDirectory, ForceReplacesAnEmptyDirectoryAndASymlink) {
  test::TempDir tmp;
  fs::create_directory(tmp / "empty");
  OutputDirectory a(tmp / "empty", true);
  test::write_text(a.file("x"), "new");
  a.commit();
  EXPECT_EQ(test::read_text(tmp / "empty/x"), "new");

  fs::create_directory(tmp / "target");
  test::write_text(tmp / "target/keep", "keep");
  fs::create_directory_symlink(tmp / "target", tmp / "link");
  OutputDirectory b(tmp / "link", true);
  b.commit();
  EXPECT_FALSE(fs::is_symlink(tmp / "link"));
  EXPECT_EQ(test::read_text(tmp / "target/keep"), "keep");  // only the link went
}

// --force must not wipe a directory that is not an svr output (think `-o ~ --force`).
TEST(OutputDirectory, ForceRefusesForeignDirectoriesAndFiles) {
  test::TempDir tmp;
  fs::create_directory(tmp / "home");
  test::write_text(tmp / "home/thesis.tex", "precious");
  const std::string message = error_of([&] { OutputDirectory dir(tmp / "home", true); });
  EXPECT_NE(message.find("does not look like an svr output directory"), std::string::npos);
  EXPECT_EQ(test::read_text(tmp / "home/thesis.tex"), "precious");

  test::write_text(tmp / "file", "precious");
  EXPECT_NE(error_of([&] { OutputDirectory dir(tmp / "file", true); }).find("not a directory"),
            std::string::npos);
  EXPECT_EQ(test::read_text(tmp / "file"), "precious");
  EXPECT_EQ(test::list_dir(tmp.path()), (std::vector<std::string>{"file", "home"}));
}

TEST(OutputDirectory, OutdirCreatedDuringTheRunIsNotOverwritten) {
  test::TempDir tmp;
  const std::string outdir = tmp / "out";
  OutputDirectory dir(outdir, false);
  test::write_text(dir.file("nodes.csv"), "new");
  fs::create_directory(outdir);  // empty: plain rename(2) would silently replace it
  EXPECT_EQ(error_of([&] { dir.commit(); }), outdir + ": already exists (use --force to replace it)");
  EXPECT_FALSE(dir.committed());
  EXPECT_TRUE(fs::is_empty(outdir));
}

TEST(OutputDirectory, ParentThatIsAFileOrMissing) {
  test::TempDir tmp;
  test::write_text(tmp / "file.txt", "x");
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

}  // namespace
}  // namespace svr
