#include "svr/app/pipeline.hpp"

#include <cstdio>
#include <utility>
#include <vector>

#include "svr/app/build_info.hpp"
#include "svr/app/phase_edges.hpp"
#include "svr/app/phase_output.hpp"
#include "svr/app/phase_path.hpp"
#include "svr/app/phase_read.hpp"
#include "svr/app/phase_significance.hpp"
#include "svr/app/phase_svd.hpp"
#include "svr/app/progress.hpp"

namespace svr {
namespace {

std::string basename_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

SvrResult new_result(const Options& options, const mpi::Communicator& comm,
                     const std::string& command_line) {
  SvrResult result;
  result.model_name = basename_of(options.model_path);
  result.run.version = SVR_VERSION;
  result.run.build = build_info(false);  // no PETSc unless a layer needs it (phase_output)
  result.run.command_line = command_line;
  result.run.ranks = comm.size();
  return result;
}

}  // namespace

SvrResult run_pipeline(const Options& options, const mpi::Communicator& comm,
                       const std::string& command_line) {
  const Progress progress(comm.is_root() && !options.quiet);
  PhaseClock clock;
  SvrResult result = new_result(options, comm, command_line);

  OutputTarget output = open_output(options, comm);  // a bad OUTDIR fails before any work
  const RunPlans plans = read_phase(options, comm);
  describe_plans(plans, options, result);
  if (options.plan) {
    if (comm.is_root()) {
      std::fputs(plan_text(plans, options).c_str(), stdout);
      std::fflush(stdout);
    }
    return result;
  }
  progress.say("read " + options.model_path + " (" + plans.model.format +
               "): " + std::to_string(plans.network.layers.size()) + " layers, method " +
               to_string(options.method()) + ", " + std::to_string(comm.size()) + " rank(s)");
  clock.end("read", result.run);

  // The pairs within one ScaLAPACK team are computed by the team during the SVD phase, the others
  // in the edges phase (edge_schedule).
  const EdgeSchedule schedule = edge_schedule(plans.network, plans.execution);
  EdgeWeights E;
  LayerFactors factors = svd_phase(plans, schedule, options, comm, result, E, progress);
  clock.end("svd", result.run);

  edges_phase(factors, E, schedule, plans, options, comm, result, progress);
  // --save-spectra: the factors stay on their owners, who write them in the output phase.
  // Otherwise each was freed after its last pair, and the grids go now, on every rank together:
  // a grid's destructor frees its communicator (collective).
  if (!options.save_spectra) {
    const LayerFactors freed = std::move(factors);
  }
  clock.end("edges", result.run);

  OwnedEdges owned_edges = significance_phase(E, plans.execution, options, comm, result, progress);
  path_phase(E.E, plans.execution, options, comm, result);
  E.u_norm2.clear();
  if (!options.save_adjacency) E.E.clear();  // nobody needs E any more
  clock.end("significance", result.run);

  output_phase(output, E.E, factors, owned_edges, plans, options, comm, result, clock, progress);
  return result;
}

}  // namespace svr
