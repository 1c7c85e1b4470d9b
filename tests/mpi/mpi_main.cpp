// GoogleTest main for the MPI tests: MPI_Init, only rank 0 prints the usual report (other ranks
// print only their own failures, prefixed with the rank), and the exit code is non-zero on
// every rank if a test failed on any rank.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdio>
#include <string>

#include "svr/parallel/mpi.hpp"

namespace {

// Prints failed assertions of a non-root rank, which has no default printer.
class RankFailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : rank_(rank) {}
  // The test's name is remembered here: UnitTest::current_test_info() must not be called from
  // OnTestPartResult (GoogleTest holds its own mutex there: a self-deadlock).
  void OnTestStart(const ::testing::TestInfo& info) override {
    test_ = std::string(info.test_suite_name()) + "." + info.name();
  }
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::fprintf(stderr, "[rank %d] FAILED %s at %s:%d\n%s\n", rank_, test_.c_str(),
                 result.file_name() ? result.file_name() : "?", result.line_number(),
                 result.summary());
  }

 private:
  int rank_;
  std::string test_;
};

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  ::testing::TestEventListeners& listeners = ::testing::UnitTest::GetInstance()->listeners();
  if (rank != 0) {
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new RankFailurePrinter(rank));
  }
  const int local = RUN_ALL_TESTS() == 0 ? 0 : 1;
  int failed = 0;
  MPI_Allreduce(&local, &failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (rank == 0)
    std::printf("[mpi] %d rank(s): %s\n", size, failed ? "FAILED on some rank" : "all passed");
  svr::mpi::finalize();  // what svr registered to end before MPI (SLEPc), then MPI_Finalize
  return failed;
}
