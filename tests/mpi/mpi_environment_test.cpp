// mpi::Environment and the thread level svr needs. A process initialises MPI once, so this
// binary has its own main (no MPI_Init) and ctest runs each test in its own process
// (--gtest_filter). MPI_Init_thread is interposed through the MPI profiling interface so that a
// test can make the library report a lower thread level than it provides.
#include <gtest/gtest.h>

#include <string>

#include "svr/core/error.hpp"
#include "svr/parallel/mpi.hpp"

namespace {
bool report_single = false;  // make MPI_Init_thread provide MPI_THREAD_SINGLE
}  // namespace

// C linkage comes from the declaration in mpi.h.
int MPI_Init_thread(int* argc, char*** argv, int required, int* provided) {
  const int code = PMPI_Init_thread(argc, argv, required, provided);
  if (report_single) *provided = MPI_THREAD_SINGLE;
  return code;
}

namespace {

int test_argc = 0;
char** test_argv = nullptr;

TEST(Environment, RefusesALibraryWithoutFunneledThreads) {
  report_single = true;
  try {
    svr::mpi::Environment environment(test_argc, test_argv);
    ADD_FAILURE() << "accepted MPI_THREAD_SINGLE";
  } catch (const svr::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("MPI_THREAD_SINGLE"), std::string::npos) << message;
    EXPECT_NE(message.find("MPI_THREAD_FUNNELED"), std::string::npos) << message;
    EXPECT_NE(message.find("signal thread"), std::string::npos) << message;
  }
  // The constructor finalized MPI again before throwing: nothing is left half set up.
  int finalized = 0;
  MPI_Finalized(&finalized);
  EXPECT_TRUE(finalized);
}

TEST(Environment, InitialisesWithFunneledThreadsAndFinalizes) {
  {
    svr::mpi::Environment environment(test_argc, test_argv);
    EXPECT_GE(environment.provided(), MPI_THREAD_FUNNELED);
    int initialized = 0;
    MPI_Initialized(&initialized);
    EXPECT_TRUE(initialized);
    svr::mpi::Communicator comm;  // usable
    EXPECT_GE(comm.size(), 1);
  }
  int finalized = 0;
  MPI_Finalized(&finalized);
  EXPECT_TRUE(finalized);
}

TEST(Environment, NamesEveryThreadLevel) {
  EXPECT_EQ(svr::mpi::thread_level_name(MPI_THREAD_SINGLE), "MPI_THREAD_SINGLE");
  EXPECT_EQ(svr::mpi::thread_level_name(MPI_THREAD_FUNNELED), "MPI_THREAD_FUNNELED");
  EXPECT_EQ(svr::mpi::thread_level_name(MPI_THREAD_SERIALIZED), "MPI_THREAD_SERIALIZED");
  EXPECT_EQ(svr::mpi::thread_level_name(MPI_THREAD_MULTIPLE), "MPI_THREAD_MULTIPLE");
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  test_argc = argc;
  test_argv = argv;
  return RUN_ALL_TESTS();
}
