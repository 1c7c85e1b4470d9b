#pragma once
// Ending svr on a termination signal: promptly, once, without leaving output behind.
//
// Slurm (scancel, time limit, preemption) and mpiexec (Ctrl-C, a rank that died) end a job by
// sending SIGTERM to every rank and SIGKILL soon after (mpiexec: 1 s later; Slurm: KillWait,
// 30 s by default). Under the default action a rank dies on the spot, and rank 0's staging
// directory "OUTDIR.partial-..." stays behind. So svr blocks these signals in every thread and
// one dedicated thread waits for them (sigwaitinfo). It is an ordinary thread, not a signal
// handler, so it may lock mutexes and use the file system: it removes the staging directories
// (abandon_staging_directories in output_directory.hpp), prints one line on rank 0 and calls
// _exit(128 + signal number), 143 for SIGTERM, without running destructors or MPI_Finalize
// (the other ranks may be gone; mpiexec and srun clean up after a rank that exits early).
//
// Signals handled: SIGTERM, SIGINT, SIGHUP, SIGUSR1 and SIGUSR2, i.e. every signal whose default
// action ends the process and that comes from outside it (a user, a shell, a scheduler). svr
// cannot checkpoint, so a warning signal such as `srun --signal=USR1@60` can only mean "stop
// now, cleanly". Fault signals (SIGSEGV, SIGBUS, SIGABRT, SIGKILL, ...) keep their default
// action: a crashed rank cannot clean up, so the surviving ranks, which the launcher then
// terminates with SIGTERM, remove rank 0's staging directory (every rank knows its name:
// reserve_staging_name).
//
// Only rank 0 prints "rank 0: terminated by SIGTERM": srun and mpiexec signal every rank, and
// one line reads better than one per rank. A signal sent to another rank alone still produces
// the line: that rank exits, and the launcher then terminates rank 0 too.
#include <pthread.h>

#include <string>

namespace svr::termination {

// The signal thread, as an RAII object. Construct it first in main, before MPI_Init and
// before any thread is started: threads inherit the signal mask, and a thread that does not
// block these signals could receive one and die without cleaning up. (Threads started before
// main by library constructors do not block them; a handler installed here hands a signal
// they receive to the signal thread.) Only one may exist.
class SignalThread {
 public:
  SignalThread();
  // Stops and joins the thread (after MPI_Finalize, when it is declared before the MPI
  // environment). A signal arriving after that stays pending: the process is ending anyway.
  ~SignalThread();
  SignalThread(const SignalThread&) = delete;
  SignalThread& operator=(const SignalThread&) = delete;

 private:
  pthread_t thread_{};
  bool started_ = false;
};

// This process's MPI rank, for the message. Until it is set, the rank the launcher put in the
// environment (OMPI_COMM_WORLD_RANK, PMIX_RANK, PMI_RANK, SLURM_PROCID), else 0.
void set_rank(int rank);
// That rank (valid once a SignalThread was constructed, or set_rank called).
int rank();

// Prints "rank ORIGIN: MESSAGE" on stderr and declares that this process is ending with
// `status` because of that error. A termination signal from then on (typically the launcher
// tearing down the job that this error ends) only cleans up, silently, and exits with `status`:
// the job's one message has been printed. If a signal was handled first, prints nothing (the
// process is about to exit with the signal's status).
void report_error(int origin, const std::string& message, int status);

// The same declaration without a message, for ranks whose error rank 0 reports.
void note_error(int status);

// "SIGTERM" for SIGTERM, and so on; "signal N" for others.
std::string signal_name(int signo);

}  // namespace svr::termination
