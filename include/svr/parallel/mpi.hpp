#pragma once
// MPI glue: the environment, a communicator that owns what it duplicates, checked calls, and the
// agreement on errors that lets every rank leave together instead of hanging in a collective.
#include <mpi.h>

#include <Eigen/Dense>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace svr::mpi {

// Throws svr::Error naming the MPI call when `code` is not MPI_SUCCESS.
void check(int code, const char* call);

// Blocking transfer of `count` doubles, in chunks so that no MPI count exceeds int.
void send_doubles(MPI_Comm comm, const double* data, std::int64_t count, int dest, int tag);
void receive_doubles(MPI_Comm comm, double* data, std::int64_t count, int source, int tag);

// An error reported by some rank of a communicator, as every rank learns it.
struct AgreedError {
  int origin = 0;       // the lowest rank that reported an error
  std::string message;  // that rank's message
};

// Collective over `comm`: every rank passes its own error message ("" if it succeeded) and gets
// the agreed error back, or nullopt when every rank succeeded. Waiting ranks sleep, not spin.
std::optional<AgreedError> agree_on_error(MPI_Comm comm, const std::string& local_error);

// A rank that failed waits at most this long in agree_on_error for the others, which may be deep
// in an SVD of hours, before it ends the job alone with the handler below.
inline constexpr double kErrorGraceSeconds = 3.0;

// Called by agree_on_error on a rank whose own error the other ranks did not acknowledge within
// kErrorGraceSeconds: it must report (rank of `comm`'s world, message) and end the job, never
// return (main's handler prints the message once and calls MPI_Abort; the launcher then
// terminates the other ranks, which clean up on SIGTERM). Without a handler, the rank waits.
using StalledErrorHandler = void (*)(const std::string& message);
void set_stalled_error_handler(StalledErrorHandler handler);

// First object in main: MPI_Init_thread on construction, MPI_Finalize on destruction.
class Environment {
 public:
  Environment(int& argc, char**& argv);
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;
};

// A communicator duplicated from a parent and freed on destruction, so svr's messages never
// mix with a caller's and error handlers can be set on it alone.
class Communicator {
 public:
  explicit Communicator(MPI_Comm parent = MPI_COMM_WORLD);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  MPI_Comm get() const { return comm_; }
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
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
};

// An error that every rank has agreed on: `origin` is the lowest rank that failed and the
// message is that rank's. main prints it once (on rank 0) and every rank exits non-zero.
class CollectiveError : public std::runtime_error {
 public:
  CollectiveError(const std::string& message, int origin)
      : std::runtime_error(message), origin_(origin) {}
  int origin() const { return origin_; }

 private:
  int origin_;
};

// Collective: every rank calls it at the end of a phase with its own error message ("" if it
// succeeded). If any rank failed, all ranks throw the same CollectiveError.
void agree_on_errors(const Communicator& comm, const std::string& local_error);
void agree_on_errors(MPI_Comm comm, const std::string& local_error);

// Runs `phase` on this rank, then agrees on errors across ranks (see agree_on_errors).
template <typename Phase>
void collective_phase(const Communicator& comm, Phase&& phase) {
  std::string error;
  try {
    phase();
  } catch (const std::exception& e) {
    error = e.what();
    if (error.empty()) error = "unknown error";
  }
  agree_on_errors(comm, error);
}

}  // namespace svr::mpi
