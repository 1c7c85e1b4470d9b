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
      // The columns it holds: all r of the full SVD (before --max-rank), the K of --min-rank
      // (keep_bottom) or of the Krylov method.
      const std::int64_t r =
          layers[l].svd.method == "scalapack-krylov" || layers[l].svd.method == "scalapack-slepc"
              ? layers[l].sigma.size()
              : std::min(layers[l].rows, layers[l].cols) - layers[l].first_neuron;
      where.subgrid = SubgridLayout{how.grid, how.first_rank, execution.block_size, where.rows, r};
    }
  } else {
    where.owner = execution.layers[l].rank;
    if (rank == where.owner) where.whole = u ? &factors.local[l].U : &factors.local[l].V;
  }
  return where;
}

// The rows of a factor that E of `pair` uses, as an index map (u: the producer's U; else the
// consumer's V); empty when the pair uses the factors as they are.
IndexMap row_map(const PairSpec& pair, bool u) {
  if (pair.identity) return {};
  if (u) return [pair](std::int64_t row) { return u_row_of(pair, row); };
  return [pair](std::int64_t row) { return v_row_of(pair, row); };
}

// The rows `map` keeps, renumbered: out(map(i), :) = m(i, :), `rows` rows.
Eigen::MatrixXd selected_rows(const Eigen::MatrixXd& m, const IndexMap& map, std::int64_t rows) {
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(rows, m.cols());
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    const std::int64_t target = map(i);
    if (target >= 0) out.row(target) = m.row(i);
  }
  return out;
}

// The squared norms of U's columns over its rows of each group: groups x U.cols().
Eigen::MatrixXd grouped_squared_norms(const Eigen::MatrixXd& U, const std::vector<int>& row_group,
                                      std::int64_t groups) {
  Eigen::MatrixXd norm2 = Eigen::MatrixXd::Zero(groups, U.cols());
  for (Eigen::Index a = 0; a < U.rows(); ++a)
    norm2.row(row_group[static_cast<std::size_t>(a)]) += U.row(a).cwiseAbs2();
  return norm2;
}

}  // namespace

Eigen::MatrixXd serial_edge_weights(const Eigen::MatrixXd& U, const Eigen::MatrixXd& V,
                                    const PairSpec& pair, const PairNull& null,
                                    Eigen::MatrixXd& norm2) {
  if (pair.identity) {
    if (null.norms) norm2 = grouped_squared_norms(U, u_row_groups(pair), null.groups);
    return edge_weights(U, V, pair.c, pair.z_u, pair.z_v);
  }
  const std::int64_t count = pair.map.count;
  const Eigen::MatrixXd U_used = selected_rows(U, row_map(pair, true), count * pair.z_u);
  const Eigen::MatrixXd V_used = selected_rows(V, row_map(pair, false), count * pair.z_v);
  if (null.norms) norm2 = grouped_squared_norms(U_used, u_row_groups(pair), null.groups);
  return edge_weights(U_used, V_used, count, pair.z_u, pair.z_v);
}

EdgeSchedule edge_schedule(const NetworkPlan& plan, const ExecutionPlan& execution) {
  EdgeSchedule schedule;
  schedule.after_layer.resize(plan.layers.size());
  const bool one_grid = execution.one_grid_of_all_ranks();
  // The team whose grid computes pair l in the SVD phase, or -1.
  const auto team_of_pair = [&](std::size_t l) {
    const PairExecution& how = execution.pairs[l];
    if (!how.distributed) return -1;
    const LayerExecution& from = execution.layers[static_cast<std::size_t>(plan.pairs[l].from)];
    const LayerExecution& to = execution.layers[static_cast<std::size_t>(plan.pairs[l].to)];
    if (from.engine != SvdEngine::Scalapack || to.engine != SvdEngine::Scalapack) return -1;
    if (how.team >= 0) return how.team;
    return one_grid ? 0 : -1;
  };
  std::vector<bool> scheduled(plan.pairs.size(), false);
  for (std::size_t t = 0; t < execution.teams.size(); ++t) {
    std::vector<bool> factored(plan.layers.size(), false);
    for (std::size_t layer : execution.teams[t].layers) {
      factored[layer] = true;
      for (std::size_t l = 0; l < plan.pairs.size(); ++l) {
        if (scheduled[l] || team_of_pair(l) != static_cast<int>(t)) continue;
        if (!factored[static_cast<std::size_t>(plan.pairs[l].from)] ||
            !factored[static_cast<std::size_t>(plan.pairs[l].to)])
          continue;
        scheduled[l] = true;
        schedule.after_layer[layer].push_back(l);
        schedule.order.push_back(l);
      }
    }
  }
  // Both layers LAPACK layers of one rank: that rank computes E right after it factors the later
  // one (it factors its layers in layer order), so in the order of that layer.
  std::vector<std::size_t> local;
  for (std::size_t l = 0; l < plan.pairs.size(); ++l) {
    const PairExecution& how = execution.pairs[l];
    if (!scheduled[l] && !how.distributed && how.sender < 0) local.push_back(l);
  }
  std::stable_sort(local.begin(), local.end(), [&](std::size_t a, std::size_t b) {
    return plan.pairs[a].to < plan.pairs[b].to;
  });
  for (std::size_t l : local) {
    scheduled[l] = true;
    schedule.after_layer[static_cast<std::size_t>(plan.pairs[l].to)].push_back(l);
    schedule.order.push_back(l);
  }
  for (std::size_t l = 0; l < plan.pairs.size(); ++l)
    if (!scheduled[l]) {
      schedule.edges_phase.push_back(l);
      schedule.order.push_back(l);
    }
  schedule.release = factor_release(plan, schedule.order);
  return schedule;
}

FactorRelease factor_release(const NetworkPlan& plan, const std::vector<std::size_t>& order) {
  const std::size_t layers = plan.layers.size();
  // Positions in `order` of each layer's last U reader and last V reader.
  std::vector<std::ptrdiff_t> last_u(layers, -1), last_v(layers, -1);
  for (std::size_t k = 0; k < order.size(); ++k) {
    const PairSpec& pair = plan.pairs[order[k]];
    last_u[static_cast<std::size_t>(pair.from)] = static_cast<std::ptrdiff_t>(k);
    last_v[static_cast<std::size_t>(pair.to)] = static_cast<std::ptrdiff_t>(k);
  }
  FactorRelease release;
  release.u.resize(plan.pairs.size());
  release.v.resize(plan.pairs.size());
  release.both.resize(plan.pairs.size());
  const auto pair_at = [&](std::ptrdiff_t k) { return order[static_cast<std::size_t>(k)]; };
  for (std::size_t layer = 0; layer < layers; ++layer) {
    if (last_u[layer] >= 0) release.u[pair_at(last_u[layer])].push_back(layer);
    if (last_v[layer] >= 0) release.v[pair_at(last_v[layer])].push_back(layer);
    const std::ptrdiff_t last = std::max(last_u[layer], last_v[layer]);
    if (last >= 0) release.both[pair_at(last)].push_back(layer);
  }
  return release;
}

namespace {

// Frees what pair l was the last to read: a LAPACK layer's U and V each after its last reader,
// a ScaLAPACK layer's factors (local memory only, no collective) after the last of both.
void free_after_pair(LayerFactors& factors, const FactorRelease& release, std::size_t l) {
  for (std::size_t layer : release.u[l]) factors.local[layer].U = Eigen::MatrixXd();
  for (std::size_t layer : release.v[l]) factors.local[layer].V = Eigen::MatrixXd();
  for (std::size_t layer : release.both[l]) factors.distributed[layer].reset();
}

}  // namespace

void pair_edge_weights(LayerFactors& factors, const NetworkPlan& plan,
                       const ExecutionPlan& execution, const std::vector<LayerResult>& layers,
                       Method method, const mpi::Communicator& comm,
                       const std::vector<std::size_t>& pairs, EdgeWeights& out,
                       const FactorRelease* release) {
  const int me = comm.rank();
  // A local failure must not leave a partner waiting: the transfers and grid calls go on in
  // the same pair order on every rank, and the first local error is thrown at the end (the
  // caller's agreed step then reports it from every rank).
  std::optional<std::string> local_error;
  auto local = [&](auto&& work) {
    if (local_error) return;
    try {
      work();
    } catch (const std::exception& e) {
      local_error = e.what();
    }
  };
  const auto pair_on_this_rank = [&](std::size_t l) {
    const PairExecution& how = execution.pairs[l];
    const PairSpec& geometry = plan.pairs[l];
    const auto from = static_cast<std::size_t>(geometry.from);
    const auto to = static_cast<std::size_t>(geometry.to);
    const std::int64_t c = geometry.identity ? geometry.c : geometry.map.count;
    const PairNull null = pair_null(geometry, method);
    Eigen::MatrixXd* norms = null.norms ? &out.u_norm2[l] : nullptr;
    const std::vector<int> row_groups = null.norms ? u_row_groups(geometry) : std::vector<int>{};
    auto placements = [&]() {
      FactorPlacement U = placement(factors, execution, layers, from, true, me);
      FactorPlacement V = placement(factors, execution, layers, to, false, me);
      U.row_map = row_map(geometry, true);
      V.row_map = row_map(geometry, false);
      return std::make_pair(std::move(U), std::move(V));
    };
    if (how.distributed && how.team >= 0) {
      // Both factors on one team: collective over that team's grid only (the other ranks go
      // on to their next pair); the factors are used where they are.
      const int first = execution.layers[from].first_rank;
      if (me < first || me >= first + execution.layers[from].grid.size()) return;
      // The same placements as for the grid of all ranks, but on the team's own grid.
      auto [U, V] = placements();
      U.subgrid.reset();
      V.subgrid.reset();
      out.E[l] = distributed_edge_weights(*factors.team_grid, U, V, c, geometry.z_u, geometry.z_v,
                                          how.owner - first, execution.block_size, norms,
                                          row_groups);
      return;
    }
    if (how.distributed) {
      // Collective over the grid of all ranks; it agrees on its own errors (thrown on every
      // rank alike), so it needs no guard.
      auto [U, V] = placements();
      out.E[l] = distributed_edge_weights(factors.pair_grid(), U, V, c, geometry.z_u,
                                          geometry.z_v, how.owner, execution.block_size, norms,
                                          row_groups);
      return;
    }
    const int tag = static_cast<int>(l % 30000);
    if (me == how.sender) {
      comm.send(how.sends_u ? factors.local[from].U : factors.local[to].V, how.owner, tag);
      return;
    }
    if (me != how.owner) return;
    Eigen::MatrixXd received;
    if (how.sender >= 0) received = comm.receive(how.sender, tag);
    local([&] {
      const Eigen::MatrixXd& U = how.sender >= 0 && how.sends_u ? received : factors.local[from].U;
      const Eigen::MatrixXd& V =
          how.sender >= 0 && !how.sends_u ? received : factors.local[to].V;
      Eigen::MatrixXd unused;
      out.E[l] = serial_edge_weights(U, V, geometry, null, norms != nullptr ? *norms : unused);
    });
  };
  // Each factor is freed (with a release) as soon as its last pair is done, so that the peak is
  // the factors plus one E rather than the factors plus every E.
  for (std::size_t l : pairs) {
    pair_on_this_rank(l);
    if (release) free_after_pair(factors, *release, l);
  }
  if (local_error) throw std::runtime_error(*local_error);
}

void edges_phase(LayerFactors& factors, EdgeWeights& E, const EdgeSchedule& schedule,
                 const RunPlans& plans, const Options& options, const mpi::Communicator& comm,
                 SvrResult& result, const Progress& progress) {
  // The failure point first, on every rank, agreed before any rank waits for another.
  mpi::agreed(comm, [&] { inject_failure_point("edges", comm.rank()); });
  mpi::agreed(comm, [&] {
    pair_edge_weights(factors, plans.network, plans.execution, result.layers, options.method(),
                      comm, schedule.edges_phase, E,
                      options.save_spectra ? nullptr : &schedule.release);
  });
  progress.say("edges: " + std::to_string(result.pairs.size()) + " pairs");
}

}  // namespace svr
