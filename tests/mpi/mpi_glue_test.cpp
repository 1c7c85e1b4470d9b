// The MPI glue itself (src/parallel/mpi.cpp): the agreement on errors and the kinds it carries,
// steps that stop at the first failure, owned communicators and requests, chunked transfers.
#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "mpi_test_support.hpp"
#include "svr/core/error.hpp"
#include "svr/parallel/mpi.hpp"

namespace {

using svr::mpi::AgreedFailure;
using svr::mpi::ErrorKind;
using svr_test::world_rank;
using svr_test::world_size;

// Runs agreed() over `comm` with `step`, and returns what this rank caught.
struct Caught {
  bool threw = false;
  std::string message;
  ErrorKind kind = ErrorKind::Error;
  int origin = -1, world_origin = -1;
  bool input = false, numerical = false, output = false, invalid = false, error = false;
};

Caught run_agreed(MPI_Comm comm, const std::function<void()>& step) {
  Caught c;
  try {
    svr::mpi::agreed(comm, step);
  } catch (const std::exception& e) {
    c.threw = true;
    c.message = e.what();
    const auto* agreed = dynamic_cast<const AgreedFailure*>(&e);
    EXPECT_NE(agreed, nullptr) << "not an agreed error: " << e.what();
    if (agreed != nullptr) {
      c.kind = agreed->kind();
      c.origin = agreed->origin();
      c.world_origin = agreed->world_origin();
    }
    c.input = dynamic_cast<const svr::InputError*>(&e) != nullptr;
    c.numerical = dynamic_cast<const svr::NumericalError*>(&e) != nullptr;
    c.output = dynamic_cast<const svr::OutputError*>(&e) != nullptr;
    c.invalid = dynamic_cast<const std::invalid_argument*>(&e) != nullptr;
    c.error = dynamic_cast<const svr::Error*>(&e) != nullptr;
  }
  return c;
}

TEST(Agreement, NobodyFailsNobodyThrows) {
  svr::mpi::Communicator comm;
  int runs = 0;
  EXPECT_NO_THROW(svr::mpi::agreed(comm, [&] { ++runs; }));
  EXPECT_EQ(runs, 1);
}

TEST(Agreement, EveryKindArrivesOnEveryRankAsItself) {
  svr::mpi::Communicator comm;
  const int last = comm.size() - 1;
  struct Case {
    std::function<void()> fail;
    ErrorKind kind;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[] { throw svr::InputError("model.pth: tensor 'fc.weight': NaN"); }, ErrorKind::Input,
       "model.pth: tensor 'fc.weight': NaN"},
      {[] { throw svr::NumericalError("pdgesvd did not converge"); }, ErrorKind::Numerical,
       "pdgesvd did not converge"},
      {[] { throw svr::OutputError("out/edges.csv: disk full"); }, ErrorKind::Output,
       "out/edges.csv: disk full"},
      {[] { throw std::invalid_argument("redistribute: bad map"); }, ErrorKind::InvalidArgument,
       "redistribute: bad map"},
      {[] { throw svr::Error("MPI_Send failed"); }, ErrorKind::Error, "MPI_Send failed"},
      {[] { throw std::runtime_error("plain"); }, ErrorKind::Error, "plain"},
      {[] { throw 42; }, ErrorKind::Error, "unknown error"},
      {[] { throw std::runtime_error(""); }, ErrorKind::Error, "unknown error"},
  };
  for (const Case& c : cases) {
    const Caught caught = run_agreed(comm.get(), [&] {
      if (comm.rank() == last) c.fail();
    });
    ASSERT_TRUE(caught.threw) << c.message;
    EXPECT_EQ(caught.message, c.message);
    EXPECT_EQ(caught.kind, c.kind) << c.message;
    EXPECT_EQ(caught.origin, last);
    EXPECT_EQ(caught.world_origin, last);
    EXPECT_EQ(caught.input, c.kind == ErrorKind::Input) << c.message;
    EXPECT_EQ(caught.numerical, c.kind == ErrorKind::Numerical) << c.message;
    EXPECT_EQ(caught.output, c.kind == ErrorKind::Output) << c.message;
    EXPECT_EQ(caught.invalid, c.kind == ErrorKind::InvalidArgument) << c.message;
    EXPECT_EQ(caught.error, c.kind != ErrorKind::InvalidArgument) << c.message;
  }
}

TEST(Agreement, TheLowestFailingRankSpeaksForAll) {
  svr::mpi::Communicator comm;
  const int first_failing = comm.size() > 1 ? 1 : 0;
  const Caught caught = run_agreed(comm.get(), [&] {
    if (comm.rank() >= first_failing)
      throw svr::OutputError("failure on rank " + std::to_string(comm.rank()));
  });
  ASSERT_TRUE(caught.threw);
  EXPECT_EQ(caught.origin, first_failing);
  EXPECT_EQ(caught.message, "failure on rank " + std::to_string(first_failing));
  EXPECT_TRUE(caught.output);
}

TEST(Agreement, NestedAgreementKeepsKindAndWorldOrigin) {
  // The last world rank fails inside an agreement over its half of the world; the outer
  // agreement over the world must still name that rank and keep the kind.
  svr::mpi::Communicator world;
  const int size = world.size(), last = size - 1;
  const int half = world.rank() >= size / 2 ? 1 : 0;
  svr::mpi::UniqueComm part = svr::mpi::UniqueComm::split(world.get(), half, world.rank());
  ASSERT_TRUE(static_cast<bool>(part));
  const Caught caught = run_agreed(world.get(), [&] {
    svr::mpi::agreed(part.get(), [&] {
      if (world.rank() == last) throw svr::InputError("deep problem");
    });
  });
  ASSERT_TRUE(caught.threw);
  EXPECT_TRUE(caught.input);
  EXPECT_EQ(caught.message, "deep problem");
  EXPECT_EQ(caught.world_origin, last);
  EXPECT_EQ(caught.origin, size / 2);  // the lowest world rank of the failing half
}

TEST(Agreement, LongMessagesAreCapped) {
  svr::mpi::Communicator comm;
  const Caught caught = run_agreed(comm.get(), [&] {
    if (comm.is_root()) throw svr::Error(std::string(10000, 'x'));
  });
  ASSERT_TRUE(caught.threw);
  EXPECT_EQ(caught.message, std::string(4096, 'x'));
}

TEST(Agreement, ConsecutiveStepsStopAtTheFirstFailure) {
  // The pipeline's pattern: one agreement per communicating step. A failure on rank 0 in the
  // first step ends every rank there; nobody reaches the transfers of the second step, which
  // would otherwise leave a receiver waiting for rank 0 forever.
  svr::mpi::Communicator comm;
  bool second_step_ran = false;
  const Caught caught = run_agreed(comm.get(), [&] {
    svr::mpi::agreed(comm, [&] {
      if (comm.is_root()) throw svr::InputError("step 1 failed on rank 0");
    });
    svr::mpi::agreed(comm, [&] {
      second_step_ran = true;
      // A ring of messages that needs every rank.
      const int next = (comm.rank() + 1) % comm.size();
      const int prev = (comm.rank() + comm.size() - 1) % comm.size();
      double out = comm.rank(), in = -1.0;
      svr::mpi::check(MPI_Sendrecv(&out, 1, MPI_DOUBLE, next, 7, &in, 1, MPI_DOUBLE, prev, 7,
                                   comm.get(), MPI_STATUS_IGNORE),
                      "MPI_Sendrecv");
    });
  });
  EXPECT_TRUE(caught.threw);
  EXPECT_TRUE(caught.input);
  EXPECT_FALSE(second_step_ran);
  EXPECT_EQ(caught.world_origin, 0);
}

TEST(Agreement, AFailingRankThatFinishesItsTransfersLeavesNobodyWaiting) {
  // Within one step, the rank that fails after its sends: the receivers complete, then all
  // ranks throw together.
  svr::mpi::Communicator comm;
  if (comm.size() < 2) GTEST_SKIP() << "needs two ranks";
  std::vector<double> received;
  const Caught caught = run_agreed(comm.get(), [&] {
    if (comm.rank() == 1) {
      for (int r = 0; r < comm.size(); ++r)
        if (r != 1) comm.send(Eigen::MatrixXd::Constant(2, 3, 1.5), r, 11);
      throw svr::NumericalError("rank 1 failed after sending");
    }
    received.push_back(comm.receive(1, 11).sum());
  });
  ASSERT_TRUE(caught.threw);
  EXPECT_TRUE(caught.numerical);
  if (comm.rank() != 1) {
    EXPECT_EQ(received, std::vector<double>{9.0});
  }
}

TEST(UniqueComm, DuplicatesSplitsAndFrees) {
  svr::mpi::UniqueComm dup = svr::mpi::UniqueComm::duplicate(MPI_COMM_WORLD);
  ASSERT_TRUE(static_cast<bool>(dup));
  int result = MPI_UNEQUAL;
  MPI_Comm_compare(dup.get(), MPI_COMM_WORLD, &result);
  EXPECT_EQ(result, MPI_CONGRUENT);
  MPI_Errhandler handler = MPI_ERRHANDLER_NULL;
  MPI_Comm_get_errhandler(dup.get(), &handler);
  EXPECT_EQ(handler, MPI_ERRORS_RETURN);
  MPI_Errhandler_free(&handler);

  svr::mpi::UniqueComm moved(std::move(dup));
  EXPECT_FALSE(static_cast<bool>(dup));
  EXPECT_TRUE(static_cast<bool>(moved));
  moved.reset();
  EXPECT_EQ(moved.get(), MPI_COMM_NULL);

  // Only even ranks join; the others get an empty handle.
  svr::mpi::UniqueComm evens =
      svr::mpi::UniqueComm::split(MPI_COMM_WORLD, world_rank() % 2 == 0 ? 0 : -1, world_rank());
  EXPECT_EQ(static_cast<bool>(evens), world_rank() % 2 == 0);
  if (evens) {
    int size = 0;
    MPI_Comm_size(evens.get(), &size);
    EXPECT_EQ(size, (world_size() + 1) / 2);
  }
}

TEST(UniqueComm, ThousandsCreatedAndFreedInARow) {
  // Open MPI has a few thousand context ids: a leak would run out long before the end.
  for (int i = 0; i < 5000; ++i) {
    svr::mpi::Communicator comm;
    ASSERT_EQ(comm.size(), world_size());
  }
}

TEST(Request, OwnsItsBuffersUntilTheOperationCompletes) {
  struct Sums {
    std::int64_t mine = 0, total = 0;
  };
  svr::mpi::Communicator comm;
  const std::size_t abandoned = svr::mpi::abandoned_operations();
  svr::mpi::Request<Sums> request(
      Sums{comm.rank() + 1, 0}, "MPI_Iallreduce", [&](Sums& s, MPI_Request* r) {
        return MPI_Iallreduce(&s.mine, &s.total, 1, MPI_INT64_T, MPI_SUM, comm.get(), r);
      });
  while (!request.test()) {
  }
  EXPECT_TRUE(request.done());
  const std::int64_t p = comm.size();
  EXPECT_EQ(request.buffers().total, p * (p + 1) / 2);
  EXPECT_EQ(svr::mpi::abandoned_operations(), abandoned);
}

TEST(Request, AnUnfinishedOperationOutlivesItsRequest) {
  // A receive nobody has sent yet, on this rank alone. Destroying its Request must not free the
  // buffer MPI will write into: the operation is abandoned, alive, and the late message lands
  // in valid memory.
  const std::size_t abandoned = svr::mpi::abandoned_operations();
  double* buffer = nullptr;
  {
    svr::mpi::Request<double> request(-1.0, "MPI_Irecv", [&](double& value, MPI_Request* r) {
      buffer = &value;
      return MPI_Irecv(&value, 1, MPI_DOUBLE, 0, 99, MPI_COMM_SELF, r);
    });
    EXPECT_FALSE(request.test());
  }
  EXPECT_EQ(svr::mpi::abandoned_operations(), abandoned + 1);
  const double late = 3.25;
  ASSERT_EQ(MPI_Send(&late, 1, MPI_DOUBLE, 0, 99, MPI_COMM_SELF), MPI_SUCCESS);
  // Drain MPI's progress on this rank until the abandoned receive has written its value.
  for (int i = 0; i < 100000 && *buffer != late; ++i) {
    int flag = 0;
    MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_SELF, &flag, MPI_STATUS_IGNORE);
  }
  EXPECT_EQ(*buffer, late);
}

TEST(ChunkedTransfers, EveryCountArrivesWholeInChunksOfTheGivenSize) {
  // Around a ring, one sender at a time (blocking sends never wait on each other): rank r sends
  // to r + 1, which reads the chunks with raw MPI_Recv and so sees the boundaries send_doubles
  // chose; then raw chunked sends the other way round, read by receive_doubles.
  svr::mpi::Communicator comm;
  if (comm.size() < 2) GTEST_SKIP() << "needs two ranks";
  const int next = (comm.rank() + 1) % comm.size();
  const int prev = (comm.rank() + comm.size() - 1) % comm.size();
  const std::int64_t chunk = 7;
  for (const std::int64_t count : {0, 1, 6, 7, 8, 38}) {
    std::vector<double> out(static_cast<std::size_t>(count)), in(out.size(), -1.0),
        back(out.size(), -1.0);
    for (std::int64_t i = 0; i < count; ++i)
      out[static_cast<std::size_t>(i)] = comm.rank() * 1000.0 + static_cast<double>(i);
    for (int turn = 0; turn < comm.size(); ++turn) {
      if (comm.rank() == turn)
        svr::mpi::send_doubles(comm.get(), out.data(), count, next, 5, chunk);
      if (prev == turn) {
        for (std::int64_t got = 0; got < count;) {
          MPI_Status status;
          ASSERT_EQ(MPI_Recv(in.data() + got, static_cast<int>(chunk), MPI_DOUBLE, prev, 5,
                             comm.get(), &status),
                    MPI_SUCCESS);
          int n = 0;
          MPI_Get_count(&status, MPI_DOUBLE, &n);
          EXPECT_EQ(n, std::min<std::int64_t>(chunk, count - got)) << "count " << count;
          got += n;
        }
      }
    }
    for (int turn = 0; turn < comm.size(); ++turn) {
      if (comm.rank() == turn) {
        for (std::int64_t begin = 0; begin < count; begin += chunk)
          ASSERT_EQ(MPI_Send(out.data() + begin, static_cast<int>(std::min(chunk, count - begin)),
                             MPI_DOUBLE, prev, 6, comm.get()),
                    MPI_SUCCESS);
      }
      if (next == turn) svr::mpi::receive_doubles(comm.get(), back.data(), count, next, 6, chunk);
    }
    for (std::int64_t i = 0; i < count; ++i) {
      EXPECT_EQ(in[static_cast<std::size_t>(i)], prev * 1000.0 + static_cast<double>(i));
      EXPECT_EQ(back[static_cast<std::size_t>(i)], next * 1000.0 + static_cast<double>(i));
    }
  }
}

TEST(ChunkedTransfers, ChunksOutsideMpiIntAreRefused) {
  double x = 0.0;
  EXPECT_THROW(svr::mpi::send_doubles(MPI_COMM_SELF, &x, 1, 0, 1, 0), std::invalid_argument);
  EXPECT_THROW(svr::mpi::receive_doubles(MPI_COMM_SELF, &x, 1, 0, 1, svr::mpi::kMaxChunk + 1),
               std::invalid_argument);
}

TEST(Communicator, MatricesTravelWithTheirShape) {
  svr::mpi::Communicator comm;
  if (comm.size() < 2) GTEST_SKIP() << "needs two ranks";
  const std::vector<Eigen::MatrixXd> sent = {svr_test::random_matrix(5, 3, 4),
                                             Eigen::MatrixXd(0, 4), Eigen::MatrixXd(3, 0)};
  for (const Eigen::MatrixXd& m : sent) {
    if (comm.rank() == 1) comm.send(m, 0, 3);
    if (comm.is_root()) {
      const Eigen::MatrixXd got = comm.receive(1, 3);
      EXPECT_EQ(got.rows(), m.rows());
      EXPECT_EQ(got.cols(), m.cols());
      EXPECT_EQ(got, m);
    }
  }
  std::string text = comm.is_root() ? "from the root" : "";
  comm.broadcast(text, 0);
  EXPECT_EQ(text, "from the root");
  EXPECT_EQ(comm.sum(comm.rank()), std::int64_t{comm.size()} * (comm.size() - 1) / 2);
  EXPECT_EQ(comm.max(comm.rank()), comm.size() - 1);
}

}  // namespace

// broadcast_in_pieces: doubles and floats from the last rank arrive on every rank bit for bit
// (the pieces of 2^27 values are what keeps larger counts within MPI's int).
TEST(BroadcastInPieces, DoublesAndFloatsFromAnyRoot) {
  const int root = world_size() - 1;
  std::vector<double> doubles(1000, world_rank() == root ? 0.0 : -1.0);
  std::vector<float> floats(777, world_rank() == root ? 0.0F : -1.0F);
  if (world_rank() == root) {
    for (std::size_t i = 0; i < doubles.size(); ++i) doubles[i] = 1.0 / (3.0 + double(i));
    for (std::size_t i = 0; i < floats.size(); ++i) floats[i] = 1.0F / (7.0F + float(i));
  }
  svr::mpi::broadcast_in_pieces(doubles.data(), static_cast<std::int64_t>(doubles.size()), root,
                                MPI_COMM_WORLD);
  svr::mpi::broadcast_in_pieces(floats.data(), static_cast<std::int64_t>(floats.size()), root,
                                MPI_COMM_WORLD);
  for (std::size_t i = 0; i < doubles.size(); ++i)
    ASSERT_EQ(doubles[i], 1.0 / (3.0 + double(i))) << i;
  for (std::size_t i = 0; i < floats.size(); ++i)
    ASSERT_EQ(floats[i], 1.0F / (7.0F + float(i))) << i;
  svr::mpi::broadcast_in_pieces(doubles.data(), 0, root, MPI_COMM_WORLD);  // nothing to send
}
