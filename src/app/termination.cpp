#include "svr/app/termination.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "svr/output/output_directory.hpp"

namespace svr::termination {

namespace {

constexpr int kSignals[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2};

std::atomic<int> g_rank{0};
std::atomic<int> g_error_status{0};  // non-zero once main has declared an error
std::atomic<bool> g_thread_running{false};
std::atomic<bool> g_stopping{false};  // the destructor is waking the thread to stop it
std::atomic<int> g_forwarded{0};      // a signal the handler passed on to the thread
pthread_t g_thread;

// Held by whoever prints the job's message: the signal thread takes it and never lets go, so
// that main cannot add an error line after "terminated by SIGTERM" (or the reverse).
std::mutex& report_mutex() {
  static std::mutex* const mutex = new std::mutex;  // never destroyed: used during exit
  return *mutex;
}

sigset_t termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int signo : kSignals) sigaddset(&set, signo);
  return set;
}

// The rank the launcher announces, read before MPI_Init (which may change the environment).
int launcher_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"}) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') continue;
    char* end = nullptr;
    const long rank = std::strtol(value, &end, 10);
    if (*end == '\0' && rank >= 0 && rank < (1L << 30)) return static_cast<int>(rank);
  }
  return 0;
}

void write_stderr(const std::string& text) {
  const char* data = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data += n;
    left -= static_cast<std::size_t>(n);
  }
}

[[noreturn]] void terminate_process(int signo) {
  // A launcher sends SIGKILL soon after SIGTERM (Open MPI: 1 s). The staging directories are
  // renamed aside first (instant, and atomic against a commit), then the line is printed, then
  // their contents removed: what a SIGKILL cuts short, the janitor finishes.
  bool reported = false;
  auto report = [&](const std::vector<std::string>& lost) {
    reported = true;
    report_mutex().lock();  // never unlocked: see report_mutex
    if (g_error_status.load() != 0) return;  // the rank already said why it ends
    if (g_rank.load() == 0) {
      std::string line = "rank 0: terminated by " + signal_name(signo);
      if (!lost.empty()) line += "; " + lost.front() + " not written";
      write_stderr(line + "\n");
    }
  };
  const std::vector<std::string> lost = abandon_staging_directories(report);
  if (!reported) report(lost);  // the registry failed before the renames: say it all the same
  if (const int status = g_error_status.load(); status != 0) ::_exit(status);
  ::_exit(128 + signo);
}

void* signal_thread_main(void*) {
  const sigset_t set = termination_signals();
  for (;;) {
    siginfo_t info;
    const int signo = ::sigwaitinfo(&set, &info);
    if (signo < 0) continue;  // EINTR
    const bool forwarded = g_forwarded.exchange(0) != 0;
    // (glibc reports pthread_kill's SI_TKILL as SI_USER, so only the sender's pid tells.)
    const bool from_this_process = info.si_pid == ::getpid();
    if (g_stopping.load() && from_this_process && !forwarded) return nullptr;
    try {
      terminate_process(signo);
    } catch (...) {
      ::_exit(128 + signo);  // out of memory building the message: exit all the same
    }
  }
}

// Runs only in a thread that does not block the signals: one started before main. Hands the
// signal to the signal thread (pthread_kill is async-signal-safe); without one, exits at once.
extern "C" void forward_signal(int signo) {
  const int saved_errno = errno;
  if (!g_thread_running.load()) ::_exit(128 + signo);
  g_forwarded.store(signo);
  ::pthread_kill(g_thread, signo);
  errno = saved_errno;
}

// A child forked by a library (Open MPI's singleton mode starts a daemon) has no signal thread
// and must not inherit the blocked mask across exec, or SIGTERM could never reach it.
extern "C" void restore_signals_in_child() {
  g_thread_running.store(false);
  const sigset_t set = termination_signals();
  ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  for (int signo : kSignals) ::signal(signo, SIG_DFL);
}

}  // namespace

SignalThread::SignalThread() {
  g_rank.store(launcher_rank());
  const sigset_t set = termination_signals();
  if (const int err = ::pthread_sigmask(SIG_BLOCK, &set, nullptr); err != 0)
    throw std::runtime_error(std::string("pthread_sigmask: ") + std::strerror(err));
  if (const int err = ::pthread_create(&thread_, nullptr, signal_thread_main, nullptr); err != 0)
    throw std::runtime_error(std::string("cannot start the signal thread: ") + std::strerror(err));
  started_ = true;
  g_thread = thread_;
  g_thread_running.store(true);
  ::pthread_atfork(nullptr, nullptr, restore_signals_in_child);
  struct sigaction action {};
  action.sa_handler = forward_signal;
  action.sa_mask = set;  // one forwarding at a time
  action.sa_flags = SA_RESTART;
  for (int signo : kSignals) ::sigaction(signo, &action, nullptr);
}

SignalThread::~SignalThread() {
  if (!started_) return;
  g_thread_running.store(false);
  g_stopping.store(true);
  ::pthread_kill(thread_, SIGTERM);  // the wake-up; the thread tells it from a real SIGTERM
  ::pthread_join(thread_, nullptr);
}

void set_rank(int rank) { g_rank.store(rank); }

int rank() { return g_rank.load(); }

void report_error(int origin, const std::string& message, int status) {
  const std::lock_guard<std::mutex> lock(report_mutex());
  g_error_status.store(status);
  write_stderr("rank " + std::to_string(origin) + ": " + message + "\n");
}

void note_error(int status) {
  const std::lock_guard<std::mutex> lock(report_mutex());
  g_error_status.store(status);
}

std::string signal_name(int signo) {
  switch (signo) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGHUP:
      return "SIGHUP";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGUSR2:
      return "SIGUSR2";
    default:
      return "signal " + std::to_string(signo);
  }
}

}  // namespace svr::termination
