#include "svr/app/phase_edges.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "svr/app/phase_read.hpp"
#include "svr/app/progress.hpp"
#include "svr/core/fault_injection.hpp"
#include "svr/linalg/distributed_edge_weights.hpp"
#include "svr/linalg/edge_weights.hpp"

namespace svr {
namespace {

// Where factor U (of layer l) or V (of layer l) lives, the same description on every rank.
FactorPlacement placement(const LayerFactors& factors, const ExecutionPlan& execution,
                          const std::vector<LayerResult>& layers, std::size_t l, bool u, int rank) {
  FactorPlacement where;
  where.rows = u ? layers[l].rows : layers[l].cols;
  where.cols = layers[l].sigma.size();
  const LayerExecution& how = execution.layers[l];
  if (how.engine == SvdEngine::Scalapack) {
    // On its team's grid; only the team's ranks hold it. With one team of all ranks that grid
    // is the pair grid itself and the factor takes part in place.
    if (const DistributedSpectrum* spectrum = factors.distributed[l].get())
      where.distributed = u ? &spectrum->U : &spectrum->V;
    if (!execution.one_grid_of_all_ranks()) {
      const std::int64_t r = std::min(layers[l].rows, layers[l].cols);  // before --max-rank
      where.subgrid = SubgridLayout{how.grid, how.first_rank, execution.block_size, where.rows, r};
    }
  } else {
    where.owner = execution.layers[l].rank;
    if (rank == where.owner) where.whole = u ? &factors.local[l].U : &factors.local[l].V;
  }
  return where;
}

}  // namespace

std::vector<Eigen::MatrixXd> pair_edge_weights(const LayerFactors& factors, const NetworkPlan& plan,
                                               const ExecutionPlan& execution,
                                               const std::vector<LayerResult>& layers,
                                               const mpi::Communicator& comm) {
  const int me = comm.rank();
  std::vector<Eigen::MatrixXd> E(execution.pairs.size());
  // A local failure must not leave a partner waiting: the transfers and grid calls go on in
  // the same pair order on every rank, and the first local error is thrown at the end (the
  // caller's collective phase then reports it from every rank).
  std::optional<std::string> local_error;
  auto local = [&](auto&& work) {
    if (local_error) return;
    try {
      work();
    } catch (const std::exception& e) {
      local_error = e.what();
    }
  };
  for (std::size_t l = 0; l < execution.pairs.size(); ++l) {
    const PairExecution& how = execution.pairs[l];
    const PairSpec& geometry = plan.pairs[l];
    if (how.distributed && how.team >= 0) {
      // Both factors on one team: collective over that team's grid only (the other ranks go
      // on to their next pair); the factors are used where they are.
      const int first = execution.layers[l].first_rank;
      if (me < first || me >= first + execution.layers[l].grid.size()) continue;
      // The same placements as for the grid of all ranks, but on the team's own grid.
      FactorPlacement U = placement(factors, execution, layers, l, true, me);
      FactorPlacement V = placement(factors, execution, layers, l + 1, false, me);
      U.subgrid.reset();
      V.subgrid.reset();
      E[l] = distributed_edge_weights(*factors.team_grid, U, V, geometry.c, geometry.z_u,
                                      geometry.z_v, how.owner - first, execution.block_size);
      continue;
    }
    if (how.distributed) {
      // Collective over the grid of all ranks; it agrees on its own errors (thrown on every
      // rank alike), so it needs no guard.
      E[l] = distributed_edge_weights(
          factors.pair_grid(), placement(factors, execution, layers, l, true, me),
          placement(factors, execution, layers, l + 1, false, me), geometry.c, geometry.z_u,
          geometry.z_v, how.owner, execution.block_size);
      continue;
    }
    const int tag = static_cast<int>(l % 30000);
    if (me == how.sender) {
      comm.send(how.sends_u ? factors.local[l].U : factors.local[l + 1].V, how.owner, tag);
      continue;
    }
    if (me != how.owner) continue;
    Eigen::MatrixXd received;
    if (how.sender >= 0) received = comm.receive(how.sender, tag);
    local([&] {
      const Eigen::MatrixXd& U = how.sender >= 0 && how.sends_u ? received : factors.local[l].U;
      const Eigen::MatrixXd& V =
          how.sender >= 0 && !how.sends_u ? received : factors.local[l + 1].V;
      E[l] = edge_weights(U, V, geometry.c, geometry.z_u, geometry.z_v);
    });
  }
  if (local_error) throw std::runtime_error(*local_error);
  return E;
}

std::vector<Eigen::MatrixXd> edges_phase(LayerFactors&& factors, const RunPlans& plans,
                                         const Options& options, const mpi::Communicator& comm,
                                         SvrResult& result, const Progress& progress) {
  // The failure point first, on every rank, agreed before any rank waits for another.
  mpi::agreed(comm, [&] { inject_failure_point("edges", comm.rank()); });
  std::vector<Eigen::MatrixXd> E;
  mpi::agreed(comm, [&] {
    E = pair_edge_weights(factors, plans.network, plans.execution, result.layers, comm);
  });
  if (options.save_spectra)  // the only reason for the factors to come to rank 0
    mpi::agreed(comm, [&] {
      gather_factors_to_root(factors, plans.execution, options, comm, result.layers);
    });
  // Freed on every rank together: the grid's destructor frees its communicator (collective),
  // after the distributed factors that point at it (LayerFactors' member order).
  { const LayerFactors freed = std::move(factors); }
  progress.say("edges: " + std::to_string(result.pairs.size()) + " pairs");
  return E;
}

}  // namespace svr
