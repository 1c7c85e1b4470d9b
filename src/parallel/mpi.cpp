#include "svr/parallel/mpi.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace svr::mpi {

void check(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
  throw Error(std::string(call) + " failed: " +
              (length > 0 ? std::string(text, static_cast<std::size_t>(length))
                          : "MPI error code " + std::to_string(code)));
}

namespace {

template <typename T>
void broadcast_pieces(T* data, std::int64_t count, int root, MPI_Comm comm, MPI_Datatype type) {
  constexpr std::int64_t piece = std::int64_t{1} << 27;
  for (std::int64_t done = 0; done < count; done += piece)
    check(MPI_Bcast(data + done, static_cast<int>(std::min(piece, count - done)), type, root, comm),
          "MPI_Bcast");
}

}  // namespace

void broadcast_in_pieces(double* data, std::int64_t count, int root, MPI_Comm comm) {
  broadcast_pieces(data, count, root, comm, MPI_DOUBLE);
}

void broadcast_in_pieces(float* data, std::int64_t count, int root, MPI_Comm comm) {
  broadcast_pieces(data, count, root, comm, MPI_FLOAT);
}

std::string library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int length = 0;
  if (MPI_Get_library_version(text, &length) != MPI_SUCCESS) return "unknown";
  std::string version(text, static_cast<std::size_t>(std::max(length, 0)));
  version = version.substr(0, version.find('\n'));
  while (!version.empty() && (version.back() == ' ' || version.back() == '\0')) version.pop_back();
  return version;
}

std::string thread_level_name(int level) {
  switch (level) {
    case MPI_THREAD_SINGLE:
      return "MPI_THREAD_SINGLE";
    case MPI_THREAD_FUNNELED:
      return "MPI_THREAD_FUNNELED";
    case MPI_THREAD_SERIALIZED:
      return "MPI_THREAD_SERIALIZED";
    case MPI_THREAD_MULTIPLE:
      return "MPI_THREAD_MULTIPLE";
    default:
      return "thread level " + std::to_string(level);
  }
}

// ---------------------------------------------------------------------------------------------
// Environment

Environment::Environment(int& argc, char**& argv, int required) {
  check(MPI_Init_thread(&argc, &argv, required, &provided_), "MPI_Init_thread");
  // The levels are ordered SINGLE < FUNNELED < SERIALIZED < MULTIPLE (MPI standard, 12.4.3).
  if (provided_ < required) {
    const std::string message = "MPI_Init_thread: the MPI library provides " +
                                thread_level_name(provided_) + "; svr needs " +
                                thread_level_name(required) +
                                " (it runs a signal thread beside the thread that calls MPI)";
    MPI_Finalize();
    throw Error(message);
  }
}

namespace {
std::vector<void (*)()>& before_finalize() {
  static std::vector<void (*)()> functions;
  return functions;
}
}  // namespace

void call_before_finalize(void (*function)()) { before_finalize().push_back(function); }

void finalize() {
  std::vector<void (*)()>& functions = before_finalize();
  while (!functions.empty()) {
    void (*function)() = functions.back();
    functions.pop_back();
    function();
  }
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

Environment::~Environment() { finalize(); }

// ---------------------------------------------------------------------------------------------
// Communicators

namespace {

bool mpi_finalized() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  return finalized != 0;
}

}  // namespace

UniqueComm& UniqueComm::operator=(UniqueComm&& other) noexcept {
  if (this != &other) {
    reset();
    comm_ = other.release();
  }
  return *this;
}

void UniqueComm::reset() noexcept {
  if (comm_ != MPI_COMM_NULL && !mpi_finalized()) MPI_Comm_free(&comm_);
  comm_ = MPI_COMM_NULL;
}

UniqueComm UniqueComm::duplicate(MPI_Comm parent) {
  MPI_Comm comm = MPI_COMM_NULL;
  check(MPI_Comm_dup(parent, &comm), "MPI_Comm_dup");
  UniqueComm owned(comm);  // owned before anything else can throw
  check(MPI_Comm_set_errhandler(owned.get(), MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  return owned;
}

UniqueComm UniqueComm::split(MPI_Comm parent, int color, int key) {
  MPI_Comm comm = MPI_COMM_NULL;
  check(MPI_Comm_split(parent, color >= 0 ? color : MPI_UNDEFINED, key, &comm), "MPI_Comm_split");
  UniqueComm owned(comm);
  if (owned)
    check(MPI_Comm_set_errhandler(owned.get(), MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  return owned;
}

Communicator::Communicator(MPI_Comm parent) : comm_(UniqueComm::duplicate(parent)) {
  check(MPI_Comm_rank(comm_.get(), &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(comm_.get(), &size_), "MPI_Comm_size");
}

void Communicator::barrier() const { check(MPI_Barrier(get()), "MPI_Barrier"); }

double Communicator::max(double value) const {
  double result = 0.0;
  check(MPI_Allreduce(&value, &result, 1, MPI_DOUBLE, MPI_MAX, get()), "MPI_Allreduce");
  return result;
}

std::int64_t Communicator::sum(std::int64_t value) const {
  std::int64_t result = 0;
  check(MPI_Allreduce(&value, &result, 1, MPI_INT64_T, MPI_SUM, get()), "MPI_Allreduce");
  return result;
}

void Communicator::broadcast(std::string& text, int root) const {
  std::int64_t length = static_cast<std::int64_t>(text.size());
  check(MPI_Bcast(&length, 1, MPI_INT64_T, root, get()), "MPI_Bcast");
  if (length > std::numeric_limits<int>::max()) throw Error("broadcast: string too long");
  text.resize(static_cast<std::size_t>(length));
  check(MPI_Bcast(text.data(), static_cast<int>(length), MPI_CHAR, root, get()), "MPI_Bcast");
}

void Communicator::send(const Eigen::MatrixXd& m, int dest, int tag) const {
  const std::int64_t shape[2] = {m.rows(), m.cols()};
  check(MPI_Send(shape, 2, MPI_INT64_T, dest, tag, get()), "MPI_Send");
  send_doubles(get(), m.data(), m.size(), dest, tag);
}

Eigen::MatrixXd Communicator::receive(int source, int tag) const {
  std::int64_t shape[2] = {0, 0};
  check(MPI_Recv(shape, 2, MPI_INT64_T, source, tag, get(), MPI_STATUS_IGNORE), "MPI_Recv");
  if (shape[0] < 0 || shape[1] < 0)
    throw Error("MPI_Recv: a matrix of shape " + std::to_string(shape[0]) + "x" +
                std::to_string(shape[1]) + " announced (internal error)");
  Eigen::MatrixXd m(shape[0], shape[1]);
  receive_doubles(get(), m.data(), m.size(), source, tag);
  return m;
}

namespace {

int checked_chunk(std::int64_t chunk) {
  if (chunk < 1 || chunk > kMaxChunk)
    throw std::invalid_argument("chunked transfer: chunk " + std::to_string(chunk) +
                                " outside [1, " + std::to_string(kMaxChunk) + "]");
  return static_cast<int>(chunk);
}

}  // namespace

void send_doubles(MPI_Comm comm, const double* data, std::int64_t count, int dest, int tag,
                  std::int64_t chunk) {
  checked_chunk(chunk);
  for (std::int64_t begin = 0; begin < count; begin += chunk)
    check(MPI_Send(data + begin, static_cast<int>(std::min(chunk, count - begin)), MPI_DOUBLE, dest,
                   tag, comm),
          "MPI_Send");
}

void receive_doubles(MPI_Comm comm, double* data, std::int64_t count, int source, int tag,
                     std::int64_t chunk) {
  checked_chunk(chunk);
  for (std::int64_t begin = 0; begin < count; begin += chunk)
    check(MPI_Recv(data + begin, static_cast<int>(std::min(chunk, count - begin)), MPI_DOUBLE,
                   source, tag, comm, MPI_STATUS_IGNORE),
          "MPI_Recv");
}

// ---------------------------------------------------------------------------------------------
// Abandoned operations

namespace {

std::mutex abandoned_mutex;
std::vector<std::unique_ptr<detail::PendingOperation>>& abandoned_list() {
  // Never destroyed: MPI may still write into these buffers while the process ends.
  static auto* list = new std::vector<std::unique_ptr<detail::PendingOperation>>();
  return *list;
}

}  // namespace

void detail::abandon(std::unique_ptr<PendingOperation> operation) noexcept {
  try {
    const std::lock_guard<std::mutex> lock(abandoned_mutex);
    abandoned_list().push_back(std::move(operation));
  } catch (...) {
    (void)operation.release();  // no memory to remember it: leak it all the same
  }
}

std::size_t abandoned_operations() {
  const std::lock_guard<std::mutex> lock(abandoned_mutex);
  return abandoned_list().size();
}

// ---------------------------------------------------------------------------------------------
// The agreement

ErrorKind kind_of(const std::exception& error) {
  if (const auto* agreed = dynamic_cast<const AgreedFailure*>(&error)) return agreed->kind();
  if (dynamic_cast<const InputError*>(&error)) return ErrorKind::Input;
  if (dynamic_cast<const NumericalError*>(&error)) return ErrorKind::Numerical;
  if (dynamic_cast<const OutputError*>(&error)) return ErrorKind::Output;
  if (dynamic_cast<const std::invalid_argument*>(&error)) return ErrorKind::InvalidArgument;
  return ErrorKind::Error;
}

namespace {

std::atomic<StalledErrorHandler> stalled_error_handler{nullptr};

// Messages are one line; a cap keeps a runaway one from costing a large broadcast.
constexpr std::size_t kMessageCap = 4096;

int world_rank() {
  int rank = 0;
  check(MPI_Comm_rank(MPI_COMM_WORLD, &rank), "MPI_Comm_rank");
  return rank;
}

// What this rank knows of its own failure.
struct LocalFailure {
  bool failed = false;
  ErrorKind kind = ErrorKind::Error;
  int world_origin = -1;
  std::string message;
};

LocalFailure describe(const std::exception_ptr& failure) {
  LocalFailure local;
  if (!failure) return local;
  local.failed = true;
  local.world_origin = world_rank();
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& e) {
    local.kind = kind_of(e);
    if (const auto* agreed = dynamic_cast<const AgreedFailure*>(&e))
      local.world_origin = agreed->world_origin();
    local.message = e.what();
  } catch (...) {
    local.message = "unknown error";
  }
  if (local.message.empty()) local.message = "unknown error";
  local.message.resize(std::min(local.message.size(), kMessageCap));
  return local;
}

[[noreturn]] void throw_agreed(ErrorKind kind, const std::string& message, int origin,
                               int world_origin) {
  switch (kind) {
    case ErrorKind::Input:
      throw Agreed<InputError>(message, kind, origin, world_origin);
    case ErrorKind::Numerical:
      throw Agreed<NumericalError>(message, kind, origin, world_origin);
    case ErrorKind::Output:
      throw Agreed<OutputError>(message, kind, origin, world_origin);
    case ErrorKind::InvalidArgument:
      throw Agreed<std::invalid_argument>(message, kind, origin, world_origin);
    case ErrorKind::Error:
      break;
  }
  throw Agreed<Error>(message, ErrorKind::Error, origin, world_origin);
}

// The lowest failing rank of comm (size if none), waiting asleep. Ranks that finish a step early
// (often all but rank 0) wait here: a blocking allreduce would spin at 100% CPU, stealing cycles
// from the ranks still working whenever cores are shared; polling a nonblocking one with short
// sleeps costs at most a millisecond of latency.
int lowest_failing_rank(MPI_Comm comm, int rank, int size, const LocalFailure& local) {
  struct Operands {
    int mine = 0;
    int lowest = 0;
  };
  Request<Operands> request(
      Operands{local.failed ? rank : size, 0}, "MPI_Iallreduce", [&](Operands& o, MPI_Request* r) {
        return MPI_Iallreduce(&o.mine, &o.lowest, 1, MPI_INT, MPI_MIN, comm, r);
      });
  const auto start = std::chrono::steady_clock::now();
  for (int polls = 0; !request.test(); ++polls) {
    if (polls > 100) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    // A failed rank does not wait for the others to finish hours of work before the job ends.
    const StalledErrorHandler handler = stalled_error_handler;
    if (local.failed && handler != nullptr && (polls & 255) == 0 &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >
            kErrorGraceSeconds)
      handler(local.message);
  }
  return request.buffers().lowest;
}

}  // namespace

void set_stalled_error_handler(StalledErrorHandler handler) { stalled_error_handler = handler; }

void agree(MPI_Comm comm, const std::exception_ptr& local_failure) {
  int rank = 0, size = 1;
  check(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  check(MPI_Comm_size(comm, &size), "MPI_Comm_size");
  const LocalFailure local = describe(local_failure);
  const int origin = lowest_failing_rank(comm, rank, size, local);
  if (origin == size) return;
  // The failing rank tells the others what happened: kind, world origin, message.
  int header[3] = {static_cast<int>(local.kind), local.world_origin,
                   static_cast<int>(local.message.size())};
  check(MPI_Bcast(header, 3, MPI_INT, origin, comm), "MPI_Bcast");
  std::string message =
      rank == origin ? local.message : std::string(static_cast<std::size_t>(header[2]), ' ');
  check(MPI_Bcast(message.data(), header[2], MPI_CHAR, origin, comm), "MPI_Bcast");
  throw_agreed(static_cast<ErrorKind>(header[0]), message, origin, header[1]);
}

}  // namespace svr::mpi
