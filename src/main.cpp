// svr: the Singular Value Representation of a neural network, under MPI.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <string>

#include "svr/aggregate/aggregate.hpp"
#include "svr/app/cli.hpp"
#include "svr/app/pipeline.hpp"
#include "svr/app/resume.hpp"
#include "svr/app/termination.hpp"
#include "svr/core/allocator.hpp"
#include "svr/output/output_directory.hpp"
#include "svr/output/staging_janitor.hpp"
#include "svr/parallel/mpi.hpp"

namespace {

// An error only this rank saw: say so and take the whole job down now, rather than leave the
// other ranks waiting in a collective. The launcher then terminates the other ranks with SIGTERM,
// and the one that reaches the staging directory removes it (see termination.hpp).
[[noreturn]] void abort_job(int rank, const char* message) {
  svr::termination::report_error(rank, message, 1);
  svr::wait_for_staging_cleanup();  // the signal thread may be removing it right now
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::_Exit(1);
}

// This rank failed and the others are still busy (mpi::agree waited kErrorGraceSeconds).
[[noreturn]] void abort_stalled(const std::string& message) {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  abort_job(rank, message.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  svr::keep_freed_memory();
  // The staging janitor this rank's parent forked (staging_janitor.hpp): no MPI, no options.
  if (argc == 2 && std::strcmp(argv[1], svr::kStagingJanitorArgument) == 0)
    svr::run_staging_janitor(3);
  // `svr aggregate` reads finished runs on a login node or in a small job: no MPI.
  if (argc > 1 && std::strcmp(argv[1], "aggregate") == 0)
    return svr::aggregate_main(argc - 1, argv + 1);
  // Forked before MPI_Init and before any thread: it removes this rank's staging directory if
  // the rank is killed while removing it (staging_janitor.hpp).
  svr::start_staging_janitor(svr::JanitorProcess::ExecuteSvr);
  // Before MPI_Init, so that every thread MPI starts inherits the blocked signals. Declared
  // before the environment, so it still ends the process on SIGTERM during MPI_Finalize (which
  // waits for every rank) and is joined only after it.
  svr::termination::SignalThread signal_thread;
  std::optional<svr::mpi::Environment> environment;
  try {
    environment.emplace(argc, argv);
  } catch (const std::exception& e) {
    // No MPI to agree with: the library fails alike on every rank, so the rank the launcher
    // calls 0 reports it, once.
    if (svr::termination::rank() == 0) {
      svr::termination::report_error(0, e.what(), 1);
    } else {
      svr::termination::note_error(1);
    }
    return 1;
  }
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  svr::termination::set_rank(rank);
  svr::mpi::set_stalled_error_handler(&abort_stalled);
  try {
    svr::mpi::Communicator comm(MPI_COMM_WORLD);
    svr::CommandLine command;
    // Every rank parses the same argv, so a bad command line fails identically everywhere.
    svr::mpi::agreed(comm, [&] { command = svr::parse_command_line(argc, argv); });
    if (command.action != svr::CommandLine::Action::Run) {
      if (comm.is_root()) std::fputs(command.text.c_str(), stdout);
      svr::janitor_disarm();
      return 0;
    }
    if (command.options.skip_complete && svr::outdir_is_complete(command.options, comm)) {
      if (comm.is_root() && !command.options.quiet)
        std::fprintf(stderr, "svr: %s is complete for this model; skipped\n",
                     command.options.outdir.c_str());
      svr::janitor_disarm();
      return 0;
    }
    if (!command.options.plan) {
      // Rank 0 creates the staging directory, but it may be the rank that crashes: every rank
      // learns its name, so that whichever rank the launcher then terminates removes it.
      std::string suffix = comm.is_root() ? svr::new_staging_suffix() : std::string();
      comm.broadcast(suffix, 0);
      svr::reserve_staging_name(command.options.outdir, suffix);
    }
    svr::run_pipeline(command.options, comm, svr::quoted_command_line(argc, argv));
    // Rank 0 has committed OUTDIR or another rank may still be writing into the staging
    // directory: this rank's exit is no reason to remove anything.
    svr::janitor_disarm();
    return 0;
  } catch (const std::exception& e) {
    const auto* agreed = dynamic_cast<const svr::mpi::AgreedFailure*>(&e);
    if (agreed == nullptr) abort_job(rank, e.what());
    // Every rank agreed on this error: report it once and leave through MPI_Finalize.
    // A SIGTERM from now on, e.g. the launcher reacting to another rank's exit status, adds no
    // second message.
    if (rank == 0) {
      svr::termination::report_error(agreed->world_origin(), e.what(), 1);
    } else {
      svr::termination::note_error(1);
    }
    svr::wait_for_staging_cleanup();  // see abort_job
    return 1;
  } catch (...) {
    abort_job(rank, "unknown error");
  }
}
