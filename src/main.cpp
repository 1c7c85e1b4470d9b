// svr: the Singular Value Representation of a neural network, under MPI.
#include <cstdio>
#include <cstdlib>
#include <exception>

#include <cstring>

#include "svr/aggregate.hpp"
#include "svr/cli.hpp"
#include "svr/mpi.hpp"
#include "svr/pipeline.hpp"
#include "svr/resume.hpp"

namespace {

// An error only this rank saw: say so and take the whole job down now, rather than leave the
// other ranks waiting in a collective.
[[noreturn]] void abort_job(int rank, const char* message) {
  std::fprintf(stderr, "rank %d: %s\n", rank, message);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::_Exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  // `svr aggregate` reads finished runs on a login node or in a small job: no MPI.
  if (argc > 1 && std::strcmp(argv[1], "aggregate") == 0) return svr::aggregate_main(argc - 1, argv + 1);
  svr::mpi::Environment environment(argc, argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  try {
    svr::mpi::Communicator comm(MPI_COMM_WORLD);
    svr::CommandLine command;
    // Every rank parses the same argv, so a bad command line fails identically everywhere.
    svr::mpi::collective_phase(comm, [&] { command = svr::parse_command_line(argc, argv); });
    if (command.action != svr::CommandLine::Action::Run) {
      if (comm.is_root()) std::fputs(command.text.c_str(), stdout);
      return 0;
    }
    if (command.options.skip_complete && svr::outdir_is_complete(command.options, comm)) {
      if (comm.is_root() && !command.options.quiet)
        std::fprintf(stderr, "svr: %s is complete for this model; skipped\n",
                     command.options.outdir.c_str());
      return 0;
    }
    svr::run_pipeline(command.options, comm, svr::quoted_command_line(argc, argv));
    return 0;
  } catch (const svr::mpi::CollectiveError& e) {
    // Every rank agreed on this error: report it once and leave through MPI_Finalize.
    if (rank == 0) {
      std::fprintf(stderr, "rank %d: %s\n", e.origin(), e.what());
      std::fflush(stderr);
    }
    return 1;
  } catch (const std::exception& e) {
    abort_job(rank, e.what());
  } catch (...) {
    abort_job(rank, "unknown error");
  }
}
