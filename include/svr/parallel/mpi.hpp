#pragma once
// MPI glue: the environment, communicators and nonblocking requests that own what they create,
// checked calls, chunked transfers, and the one agreement on errors that lets every rank leave
// together instead of hanging in a collective (docs/architecture.md, "Errors across ranks").
#include <mpi.h>

#include <Eigen/Dense>
#include <cstdint>
#include <exception>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "svr/core/error.hpp"

namespace svr::mpi {

// Throws svr::Error naming the MPI call when `code` is not MPI_SUCCESS.
void check(int code, const char* call);

// MPI_Bcast of `count` values from `root`, in pieces of at most 2^27 values, so that each call's
// count fits MPI's int whatever the total. Collective over comm.
void broadcast_in_pieces(double* data, std::int64_t count, int root, MPI_Comm comm);
void broadcast_in_pieces(float* data, std::int64_t count, int root, MPI_Comm comm);

// "MPI_THREAD_FUNNELED" for MPI_THREAD_FUNNELED, and so on.
std::string thread_level_name(int level);

// The first line of MPI_Get_library_version (callable before MPI_Init), e.g.
// "Open MPI v4.1.4, package: Debian OpenMPI, ident: 4.1.4, repo rev: v4.1.4, May 26, 2022".
std::string library_version();

// Registers `function` to run just before MPI_Finalize, in Environment's destructor and in
// finalize(): a library initialised on top of MPI (SLEPc) ends there. The last registered runs
// first. Not thread-safe: call it from the thread that calls MPI.
void call_before_finalize(void (*function)());

// The functions of call_before_finalize (each once), then MPI_Finalize unless MPI is finalized
// already. For a main that initialised MPI itself (the MPI tests').
void finalize();

// First object in main (after the signal thread): MPI_Init_thread on construction, asking for
// `required`, finalize() on destruction. svr runs a signal thread beside the one thread that
// calls MPI, so it needs MPI_THREAD_FUNNELED at least: a library that provides less is
// finalized again and the constructor throws svr::Error naming both levels.
class Environment {
 public:
  Environment(int& argc, char**& argv, int required = MPI_THREAD_FUNNELED);
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

  int provided() const { return provided_; }

 private:
  int provided_ = MPI_THREAD_SINGLE;
};

// One communicator handle, freed on destruction (unless MPI is already finalized, when there is
// nothing left to free). Movable, not copyable.
class UniqueComm {
 public:
  UniqueComm() = default;
  explicit UniqueComm(MPI_Comm comm) : comm_(comm) {}
  ~UniqueComm() { reset(); }
  UniqueComm(UniqueComm&& other) noexcept : comm_(other.release()) {}
  UniqueComm& operator=(UniqueComm&& other) noexcept;
  UniqueComm(const UniqueComm&) = delete;
  UniqueComm& operator=(const UniqueComm&) = delete;

  MPI_Comm get() const { return comm_; }
  explicit operator bool() const { return comm_ != MPI_COMM_NULL; }
  MPI_Comm release() noexcept { return std::exchange(comm_, MPI_COMM_NULL); }
  void reset() noexcept;

  // MPI_Comm_dup of `parent`, with MPI_ERRORS_RETURN set on the copy so that failures come back
  // as codes that check() turns into exceptions instead of aborting the job (collective).
  static UniqueComm duplicate(MPI_Comm parent);
  // MPI_Comm_split of `parent` (collective); color < 0: this rank is in no part and gets an
  // empty handle. The part has MPI_ERRORS_RETURN set, as duplicate's.
  static UniqueComm split(MPI_Comm parent, int color, int key);

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
};

// A communicator duplicated from a parent and freed on destruction, so svr's messages never
// mix with a caller's and error handlers can be set on it alone.
class Communicator {
 public:
  explicit Communicator(MPI_Comm parent = MPI_COMM_WORLD);

  MPI_Comm get() const { return comm_.get(); }
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }

  void barrier() const;
  double max(double value) const;
  std::int64_t sum(std::int64_t value) const;
  void broadcast(std::string& text, int root) const;

  // Blocking point-to-point transfer of a dense matrix (shape travels with it).
  void send(const Eigen::MatrixXd& m, int dest, int tag) const;
  Eigen::MatrixXd receive(int source, int tag) const;

 private:
  UniqueComm comm_;  // declared first: freed last, and freed if the constructor throws
  int rank_ = 0;
  int size_ = 1;
};

// The most doubles one MPI call moves: MPI counts are int.
inline constexpr std::int64_t kMaxChunk = std::numeric_limits<int>::max() / 2;

// Blocking transfer of `count` doubles, in chunks of at most `chunk` so that no MPI count
// exceeds int. Sender and receiver must pass the same count and chunk.
void send_doubles(MPI_Comm comm, const double* data, std::int64_t count, int dest, int tag,
                  std::int64_t chunk = kMaxChunk);
void receive_doubles(MPI_Comm comm, double* data, std::int64_t count, int source, int tag,
                     std::int64_t chunk = kMaxChunk);

// ---------------------------------------------------------------------------------------------
// Nonblocking operations.

namespace detail {
// What an unfinished operation needs to stay valid: its request and its buffers.
struct PendingOperation {
  virtual ~PendingOperation() = default;
  MPI_Request request = MPI_REQUEST_NULL;
};
template <typename Buffers>
struct PendingBuffers : PendingOperation {
  explicit PendingBuffers(Buffers b) : buffers(std::move(b)) {}
  Buffers buffers;
};
// Keeps an unfinished operation alive for the rest of the process (never throws).
void abandon(std::unique_ptr<PendingOperation> operation) noexcept;
}  // namespace detail

// A nonblocking MPI operation and the buffers it reads and writes, owned together. MPI may
// write into those buffers until the operation completes, so they live here on the heap, never
// in a caller's stack frame. Destroying a Request whose operation has not completed (an
// exception unwinding past it, e.g. a failed MPI_Test) hands both to a list that is never freed:
// a few leaked bytes on a path that ends the job anyway, instead of MPI writing into freed
// memory. (MPI forbids freeing or cancelling a nonblocking collective's request.)
template <typename Buffers>
class Request {
 public:
  // `start(buffers, request)` makes the nonblocking call on `buffers` (now owned here) and
  // returns its MPI code; `call` names it in errors. Throws svr::Error when it fails.
  template <typename Start>
  Request(Buffers buffers, const char* call, Start&& start)
      : state_(std::make_unique<detail::PendingBuffers<Buffers>>(std::move(buffers))), call_(call) {
    check(start(state_->buffers, &state_->request), call_);
  }
  ~Request() {
    if (state_ && state_->request != MPI_REQUEST_NULL) detail::abandon(std::move(state_));
  }
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;

  // MPI_Test: true once the operation has completed. Throws svr::Error naming MPI_Test when it
  // fails; the operation then stays owned, unfinished.
  bool test() {
    if (state_->request == MPI_REQUEST_NULL) return true;
    int done = 0;
    check(MPI_Test(&state_->request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    return done != 0;
  }
  bool done() const { return state_->request == MPI_REQUEST_NULL; }
  Buffers& buffers() { return state_->buffers; }
  const Buffers& buffers() const { return state_->buffers; }

 private:
  std::unique_ptr<detail::PendingBuffers<Buffers>> state_;
  const char* call_;
};

// How many unfinished operations were abandoned (see Request); 0 in a healthy run.
std::size_t abandoned_operations();

// ---------------------------------------------------------------------------------------------
// The agreement on errors.
//
// Every step that communicates runs inside agreed(comm, step): each rank runs the step, then all
// ranks learn whether any of them failed. If one did, every rank throws the same error: the kind
// (InputError stays InputError on every rank, see ErrorKind), the message and the rank of the
// lowest rank that failed. A step must not leave a partner waiting: a rank that fails in the
// middle of a step's transfers either finishes them (sending what it owes) or the step's
// transfers must all come before the point where it can fail. Steps never share one agreement:
// a rank that fails in the first would skip the messages of the second and leave its partners
// blocked (docs/architecture.md).

// The kind of an error, which the agreement carries to every rank.
enum class ErrorKind : int {
  Error = 0,            // svr::Error, or any other std::exception (rethrown as svr::Error)
  Input = 1,            // svr::InputError
  Numerical = 2,        // svr::NumericalError (LapackError's routine and info are not carried)
  Output = 3,           // svr::OutputError
  InvalidArgument = 4,  // std::invalid_argument: a caller broke a function's contract
};
ErrorKind kind_of(const std::exception& error);

// Mixed into every error the agreement throws: how main tells an agreed error (every rank
// throws it; leave through MPI_Finalize) from a local one (only this rank knows; abort).
class AgreedFailure {
 public:
  AgreedFailure(ErrorKind kind, int origin, int world_origin)
      : kind_(kind), origin_(origin), world_origin_(world_origin) {}
  virtual ~AgreedFailure() = default;
  ErrorKind kind() const { return kind_; }
  int origin() const { return origin_; }              // the failing rank in the agreement's comm
  int world_origin() const { return world_origin_; }  // ... and in MPI_COMM_WORLD

 private:
  ErrorKind kind_;
  int origin_;
  int world_origin_;
};

// The error every rank throws: `Base` is the kind's exception type.
template <typename Base>
class Agreed : public Base, public AgreedFailure {
 public:
  Agreed(const std::string& message, ErrorKind kind, int origin, int world_origin)
      : Base(message), AgreedFailure(kind, origin, world_origin) {}
};

// Collective over `comm`: every rank passes its own failure (nullptr if it succeeded). Returns
// when none failed; otherwise every rank throws Agreed<E> with the lowest failing rank's kind,
// message (at most 4096 characters) and origin. An error that was itself agreed on an inner
// communicator keeps its kind and world origin. Waiting ranks sleep, not spin. A rank whose
// own failure the others do not acknowledge within kErrorGraceSeconds (they may be deep in an
// SVD of hours) calls the stalled-error handler, which ends the job.
void agree(MPI_Comm comm, const std::exception_ptr& local_failure);

// Runs `step` on this rank, then agree()s over `comm` on how it went.
template <typename Step>
void agreed(MPI_Comm comm, Step&& step) {
  std::exception_ptr failure;
  try {
    step();
  } catch (...) {
    failure = std::current_exception();
  }
  agree(comm, failure);
}
template <typename Step>
void agreed(const Communicator& comm, Step&& step) {
  agreed(comm.get(), std::forward<Step>(step));
}

// A rank that failed waits at most this long in agree() for the others before it ends the job
// alone with the handler below.
inline constexpr double kErrorGraceSeconds = 3.0;

// Called by agree() on a rank whose own error the other ranks did not acknowledge within
// kErrorGraceSeconds: it must report (rank of MPI_COMM_WORLD, message) and end the job, never
// return (main's handler prints the message once and calls MPI_Abort; the launcher then
// terminates the other ranks, which clean up on SIGTERM). Without a handler, the rank waits.
using StalledErrorHandler = void (*)(const std::string& message);
void set_stalled_error_handler(StalledErrorHandler handler);

}  // namespace svr::mpi
