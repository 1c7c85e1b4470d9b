// Failures inside MPI calls, made on demand through the MPI profiling interface: this binary
// defines MPI_Test, MPI_Iallreduce, MPI_Comm_dup, MPI_Comm_free and MPI_Comm_set_errhandler
// itself (svr's code, linked statically into it, calls these), and they forward to the PMPI_
// entry points unless a test asks one of them to fail.
#include <gtest/gtest.h>
#include <pthread.h>

#include <cstdint>
#include <string>

#include "mpi_test_support.hpp"
#include "svr/core/error.hpp"
#include "svr/parallel/mpi.hpp"

namespace {

// What the interposed calls do and saw; one test at a time, one thread.
struct Interposer {
  bool fail_next_test = false;
  bool fail_next_set_errhandler = false;
  int dups = 0, frees = 0;
  const void* iallreduce_send = nullptr;
  void* iallreduce_recv = nullptr;
  MPI_Request* iallreduce_request = nullptr;
};
Interposer interposer;

}  // namespace

// The interposed entry points: C linkage comes from their declarations in mpi.h.
int MPI_Test(MPI_Request* request, int* flag, MPI_Status* status) {
  if (interposer.fail_next_test) {
    interposer.fail_next_test = false;
    return MPI_ERR_OTHER;
  }
  return PMPI_Test(request, flag, status);
}

int MPI_Iallreduce(const void* sendbuf, void* recvbuf, int count, MPI_Datatype datatype, MPI_Op op,
                   MPI_Comm comm, MPI_Request* request) {
  interposer.iallreduce_send = sendbuf;
  interposer.iallreduce_recv = recvbuf;
  interposer.iallreduce_request = request;
  return PMPI_Iallreduce(sendbuf, recvbuf, count, datatype, op, comm, request);
}

int MPI_Comm_dup(MPI_Comm comm, MPI_Comm* newcomm) {
  ++interposer.dups;
  return PMPI_Comm_dup(comm, newcomm);
}

int MPI_Comm_free(MPI_Comm* comm) {
  ++interposer.frees;
  return PMPI_Comm_free(comm);
}

int MPI_Comm_set_errhandler(MPI_Comm comm, MPI_Errhandler handler) {
  if (interposer.fail_next_set_errhandler) {
    interposer.fail_next_set_errhandler = false;
    return MPI_ERR_OTHER;
  }
  return PMPI_Comm_set_errhandler(comm, handler);
}

namespace {

// Whether `p` lies in the calling thread's stack.
bool on_this_threads_stack(const void* p) {
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return false;
  void* base = nullptr;
  std::size_t size = 0;
  pthread_attr_getstack(&attr, &base, &size);
  pthread_attr_destroy(&attr);
  const auto address = reinterpret_cast<std::uintptr_t>(p);
  const auto low = reinterpret_cast<std::uintptr_t>(base);
  return address >= low && address < low + size;
}

TEST(MpiTestFailure, TheAgreementsOperandsOutliveTheThrow) {
  // MPI_Test fails on the last rank while its MPI_Iallreduce is in flight. That rank throws
  // (svr::Error, not an agreed error: MPI itself broke, main aborts the job). The reduction's
  // operands must not be stack variables of the frame the exception leaves: MPI may still
  // write into them. They must be owned by the abandoned operation, alive.
  svr::mpi::Communicator comm;
  const bool failing = comm.rank() == comm.size() - 1;
  const std::size_t abandoned = svr::mpi::abandoned_operations();
  interposer.iallreduce_recv = nullptr;
  interposer.fail_next_test = failing;
  if (failing) {
    try {
      svr::mpi::agreed(comm, [] {});
      ADD_FAILURE() << "no throw after a failed MPI_Test";
    } catch (const svr::mpi::AgreedFailure&) {
      ADD_FAILURE() << "a local MPI failure must not pass for an agreed error";
    } catch (const svr::Error& e) {
      EXPECT_NE(std::string(e.what()).find("MPI_Test"), std::string::npos) << e.what();
    }
    ASSERT_NE(interposer.iallreduce_recv, nullptr);
    EXPECT_FALSE(on_this_threads_stack(interposer.iallreduce_send));
    EXPECT_FALSE(on_this_threads_stack(interposer.iallreduce_recv));
    EXPECT_EQ(svr::mpi::abandoned_operations(), abandoned + 1);
    // Complete the abandoned reduction (its request lives in the abandoned operation), so the
    // other ranks, which succeeded, finish their agreement; the result lands in live memory.
    ASSERT_EQ(PMPI_Wait(interposer.iallreduce_request, MPI_STATUS_IGNORE), MPI_SUCCESS);
    EXPECT_EQ(*static_cast<const int*>(interposer.iallreduce_recv), comm.size());  // none failed
  } else {
    EXPECT_NO_THROW(svr::mpi::agreed(comm, [] {}));
    EXPECT_EQ(svr::mpi::abandoned_operations(), abandoned);
  }
  comm.barrier();
}

TEST(CommunicatorConstruction, FreesTheDuplicateWhenALaterCallFails) {
  interposer.dups = interposer.frees = 0;
  interposer.fail_next_set_errhandler = true;
  EXPECT_THROW(svr::mpi::Communicator comm(MPI_COMM_WORLD), svr::Error);
  EXPECT_EQ(interposer.dups, 1);
  EXPECT_EQ(interposer.frees, 1) << "the duplicated communicator leaked";
  // And the ordinary life cycle: one duplicate, one free.
  interposer.dups = interposer.frees = 0;
  { svr::mpi::Communicator comm(MPI_COMM_WORLD); }
  EXPECT_EQ(interposer.dups, 1);
  EXPECT_EQ(interposer.frees, 1);
}

}  // namespace
