#include "svr/parallel/mpi.hpp"

#include <atomic>
#include <chrono>
#include <limits>
#include <thread>

#include "svr/core/error.hpp"

namespace svr::mpi {

void check(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(std::string(call) + " failed: " + std::string(text, length));
}

Environment::Environment(int& argc, char**& argv) {
  int provided = 0;
  check(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
}

Environment::~Environment() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

Communicator::Communicator(MPI_Comm parent) {
  check(MPI_Comm_dup(parent, &comm_), "MPI_Comm_dup");
  // Errors come back as codes that check() turns into exceptions, instead of aborting the job.
  check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

Communicator::~Communicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (comm_ != MPI_COMM_NULL && !finalized) MPI_Comm_free(&comm_);
}

void Communicator::barrier() const { check(MPI_Barrier(comm_), "MPI_Barrier"); }

double Communicator::max(double value) const {
  double result = 0.0;
  check(MPI_Allreduce(&value, &result, 1, MPI_DOUBLE, MPI_MAX, comm_), "MPI_Allreduce");
  return result;
}

std::int64_t Communicator::sum(std::int64_t value) const {
  std::int64_t result = 0;
  check(MPI_Allreduce(&value, &result, 1, MPI_INT64_T, MPI_SUM, comm_), "MPI_Allreduce");
  return result;
}

void Communicator::broadcast(std::string& text, int root) const {
  std::int64_t length = static_cast<std::int64_t>(text.size());
  check(MPI_Bcast(&length, 1, MPI_INT64_T, root, comm_), "MPI_Bcast");
  if (length > std::numeric_limits<int>::max()) throw Error("broadcast: string too long");
  text.resize(static_cast<std::size_t>(length));
  check(MPI_Bcast(text.data(), static_cast<int>(length), MPI_CHAR, root, comm_), "MPI_Bcast");
}

void Communicator::send(const Eigen::MatrixXd& m, int dest, int tag) const {
  const std::int64_t shape[2] = {m.rows(), m.cols()};
  check(MPI_Send(shape, 2, MPI_INT64_T, dest, tag, comm_), "MPI_Send");
  send_doubles(comm_, m.data(), m.size(), dest, tag);
}

Eigen::MatrixXd Communicator::receive(int source, int tag) const {
  std::int64_t shape[2] = {0, 0};
  check(MPI_Recv(shape, 2, MPI_INT64_T, source, tag, comm_, MPI_STATUS_IGNORE), "MPI_Recv");
  Eigen::MatrixXd m(shape[0], shape[1]);
  receive_doubles(comm_, m.data(), m.size(), source, tag);
  return m;
}

namespace {
constexpr std::int64_t kChunk = std::numeric_limits<int>::max() / 2;
}  // namespace

void send_doubles(MPI_Comm comm, const double* data, std::int64_t count, int dest, int tag) {
  for (std::int64_t begin = 0; begin < count; begin += kChunk)
    check(MPI_Send(data + begin, static_cast<int>(std::min(kChunk, count - begin)), MPI_DOUBLE,
                   dest, tag, comm),
          "MPI_Send");
}

void receive_doubles(MPI_Comm comm, double* data, std::int64_t count, int source, int tag) {
  for (std::int64_t begin = 0; begin < count; begin += kChunk)
    check(MPI_Recv(data + begin, static_cast<int>(std::min(kChunk, count - begin)), MPI_DOUBLE,
                   source, tag, comm, MPI_STATUS_IGNORE),
          "MPI_Recv");
}

namespace {
std::atomic<StalledErrorHandler> stalled_error_handler{nullptr};
}  // namespace

void set_stalled_error_handler(StalledErrorHandler handler) { stalled_error_handler = handler; }

std::optional<AgreedError> agree_on_error(MPI_Comm comm, const std::string& local_error) {
  int rank = 0, size = 1;
  check(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  check(MPI_Comm_size(comm, &size), "MPI_Comm_size");
  const int mine = local_error.empty() ? size : rank;
  int origin = 0;
  // Ranks that finish a phase early (often all but rank 0) wait here. A blocking allreduce would
  // spin at 100% CPU, stealing cycles from the ranks still working whenever cores are shared;
  // polling a non-blocking one with short sleeps costs at most a millisecond of latency.
  MPI_Request request = MPI_REQUEST_NULL;
  check(MPI_Iallreduce(&mine, &origin, 1, MPI_INT, MPI_MIN, comm, &request), "MPI_Iallreduce");
  const auto start = std::chrono::steady_clock::now();
  for (int done = 0, polls = 0;; ++polls) {
    check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done) break;
    if (polls > 100) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    // A failed rank does not wait for the others to finish hours of work before the job ends.
    const StalledErrorHandler handler = stalled_error_handler;
    if (!local_error.empty() && handler != nullptr && (polls & 255) == 0 &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >
            kErrorGraceSeconds)
      handler(local_error);
  }
  if (origin == size) return std::nullopt;
  // Messages are one line; a cap keeps a runaway one from costing a large broadcast.
  const std::size_t cap = 4096;
  int length = rank == origin ? static_cast<int>(std::min(local_error.size(), cap)) : 0;
  check(MPI_Bcast(&length, 1, MPI_INT, origin, comm), "MPI_Bcast");
  std::string message =
      rank == origin ? local_error.substr(0, static_cast<std::size_t>(length))
                     : std::string(static_cast<std::size_t>(length), ' ');
  check(MPI_Bcast(message.data(), length, MPI_CHAR, origin, comm), "MPI_Bcast");
  return AgreedError{origin, message};
}

void agree_on_errors(MPI_Comm comm, const std::string& local_error) {
  if (auto error = agree_on_error(comm, local_error))
    throw CollectiveError(error->message, error->origin);
}

void agree_on_errors(const Communicator& comm, const std::string& local_error) {
  agree_on_errors(comm.get(), local_error);
}

}  // namespace svr::mpi
