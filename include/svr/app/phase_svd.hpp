#pragma once
// The SVD phase: small layers are read and factored whole by the rank the plan gives them
// (LAPACK); large layers by a team of ranks on its own grid, each rank reading only its blocks
// (ScaLAPACK). Every layer's factors stay where they were computed (a LAPACK layer's U, V on its
// owner rank; a ScaLAPACK layer's on its team's grid, which stays alive with them) and only the
// singular values, which are small, are shared with every rank (docs/algorithms.md,
// "Distributed reduction").
#include <functional>
#include <memory>
#include <vector>

#include "svr/app/options.hpp"
#include "svr/core/results.hpp"
#include "svr/io/model_file.hpp"
#include "svr/linalg/distributed_svd.hpp"
#include "svr/linalg/process_grid.hpp"
#include "svr/linalg/svd.hpp"
#include "svr/network/network_plan.hpp"
#include "svr/parallel/execution_plan.hpp"
#include "svr/parallel/mpi.hpp"

namespace svr {

struct RunPlans;
class Progress;
struct EdgeSchedule;
struct EdgeWeights;

struct LayerFactors {
  // Declared first, destroyed last: the distributed factors point at them.
  std::unique_ptr<ProcessGrid> team_grid;  // this rank's team's grid (inactive: in no team)
  // The grid of all ranks (grid rank = rank, near-square) on which E of a pair touching a
  // ScaLAPACK layer is computed; the team grid itself when the plan has one team of all ranks.
  std::unique_ptr<ProcessGrid> all_ranks_grid;
  std::vector<Spectrum> local;  // [l]: U, s, V of a LAPACK layer this rank owns (truncated)
  std::vector<std::unique_ptr<DistributedSpectrum>> distributed;  // [l]: a ScaLAPACK layer's
                                                                  // (all r columns, its team)
  // [l]: a ScaLAPACK layer's kept singular values (--max-rank applied), on its team's ranks;
  // they outlive its factors, which a team may free before the phase ends
  std::vector<Eigen::VectorXd> kept_s;
  std::vector<SvdReport> reports;  // [l]: how the layers this rank factored were computed
  std::vector<double> s_max;       // [l]: their largest singular value (kept or not)
  // [l]: the full-spectrum index of their first kept triplet (--min-rank: full rank - K)
  std::vector<std::int64_t> first_neuron;

  // The grid for the pairs: all_ranks_grid, or team_grid when that covers all ranks.
  const ProcessGrid& pair_grid() const { return all_ranks_grid ? *all_ranks_grid : *team_grid; }
};

// Local: reads and factors the LAPACK layers this rank owns, in layer order, calling
// `on_layer_done` after each (it must not communicate). factors.local has a slot per layer.
void factor_lapack_layers(LayerFactors& factors, const ModelFile& model, const NetworkPlan& plan,
                          const ExecutionPlan& execution, const Options& options, int rank,
                          const std::function<void(std::size_t)>& on_layer_done = {});

// Collective over every rank: builds the team grids (each rank joins its own team's), then each
// team reads its ranks' blocks of its layers and factors them on its grid, one after the other
// in layer order, concurrently with the other teams; after each layer its team's ranks call
// `on_layer_done` (collective over the team at most). Also builds the grid of all ranks when
// some pair will need it (pair_grid()). A split layer (LayerExecution::split) has its core
// factored by LAPACK on the team's first rank; the team's other ranks call `while_core_runs`
// meanwhile (DistributedSvdOptions::while_core_runs: it must not throw or communicate).
void factor_scalapack_layers(LayerFactors& factors, const ModelFile& model, const NetworkPlan& plan,
                             const ExecutionPlan& execution, const Options& options,
                             const mpi::Communicator& comm,
                             const std::function<void(std::size_t)>& on_layer_done,
                             const std::function<void()>& while_core_runs = {});

// Collective: every rank gets every layer's kept singular values (layers[l].sigma), the
// LAPACK ones broadcast from their owners, the ScaLAPACK ones from their team's first rank
// (LayerFactors::kept_s, truncated to --max-rank as thin_svd does).
void share_singular_values(const LayerFactors& factors, const ExecutionPlan& execution,
                           const mpi::Communicator& comm, std::vector<LayerResult>& layers);

// The phase, collective, one agreed step each: the LAPACK layers, the ScaLAPACK teams, the
// singular values (into result.layers[l].sigma on every rank). Says one progress line per layer.
// A rank on a team with split layers factors its LAPACK layers while its team's first rank
// factors a split layer's core (or, being that rank, after the teams), not before the teams.
// Each team also computes, as soon as their second layer is factored, E of the pairs the
// schedule gives it (schedule.after_layer) into `E` on their owners, and frees the factors that
// no later pair reads (unless --save-spectra keeps them); the edges phase does the rest.
LayerFactors svd_phase(const RunPlans& plans, const EdgeSchedule& schedule, const Options& options,
                       const mpi::Communicator& comm, SvrResult& result, EdgeWeights& E,
                       const Progress& progress);

}  // namespace svr
