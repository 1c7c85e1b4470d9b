#include "svr/app/phase_svd.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>

#include "svr/app/phase_edges.hpp"
#include "svr/app/phase_read.hpp"
#include "svr/app/progress.hpp"
#include "svr/core/error.hpp"
#include "svr/core/fault_injection.hpp"
#include "svr/linalg/distributed_truncated_svd.hpp"
#include "svr/linalg/slepc_svd.hpp"
#include "svr/linalg/truncated_svd.hpp"
#include "svr/network/distributed_layer.hpp"
#include "svr/network/layer_matrix.hpp"

namespace svr {

namespace {

// A numerical failure of one layer's SVD (both LAPACK routines failed, or an entry beyond
// single precision's range) names the model and the layer, as input errors do.
template <typename Factor>
auto naming_the_layer(const ModelFile& model, const LayerSpec& layer, Factor&& factor) {
  try {
    return factor();
  } catch (const NumericalError& error) {
    throw NumericalError(model.path + ": " + layer.name + ": " + error.what());
  }
}

// The limits of the truncated SVDs (--svd-tolerance, --svd-max-cost, --precision), rank unset.
TruncatedSvdSettings truncation_limits(const Options& options) {
  TruncatedSvdSettings limits;
  limits.tolerance = options.svd_tolerance;
  limits.max_cost = options.svd_max_cost;
  limits.precision = options.precision;
  limits.engine = options.truncated_engine;
  return limits;
}

// The teams were sized for the truncated method (GridPolicy::truncation); the full SVD a layer
// falls back to needs more. Over an explicit budget (--memory-per-rank) that ends the run with
// the layer named, on every rank of its team alike (the same plan, the same give-up), rather
// than the kernel's out-of-memory kill; over a detected budget the team's first rank warns.
void check_fallback_memory(const ModelFile& model, const LayerSpec& layer,
                           const ExecutionPlan& execution, std::size_t l, const Options& options,
                           const KrylovGiveUp& why, int rank) {
  const double budget = execution.policy.memory_per_rank_bytes;
  const double need = full_svd_bytes_per_rank(execution, l);
  if (budget <= 0.0 || need <= budget) return;
  // As many decimals as it takes to tell the two apart (a small layer over a tight budget).
  int decimals = 0;
  const auto mib = [&decimals](double bytes) {
    char text[48];
    std::snprintf(text, sizeof text, "%.*f MiB", decimals, bytes / (1024.0 * 1024.0));
    return std::string(text);
  };
  while (decimals < 6 && mib(need) == mib(budget)) ++decimals;
  const LayerExecution& how = execution.layers[l];
  const std::string problem = model.path + ": " + layer.name + ": the truncated SVD gave up (" +
                              why.reason + ") and the full SVD it falls back to needs about " +
                              mib(need) + " per rank on its " + std::to_string(how.grid.size()) +
                              " rank(s), more than the budget of " + mib(budget) + " per rank";
  if (options.execution.memory_per_rank_mb > 0.0)
    throw InputError(problem +
                     " (--memory-per-rank); run on more ranks, raise --svd-max-cost or the budget");
  if (rank == how.first_rank)
    std::fprintf(stderr, "svr: warning: %s (detected; --memory-per-rank sets it)\n",
                 problem.c_str());
}

// The singular values a ScaLAPACK layer keeps: the team's (all r of the full SVD, the K of
// --min-rank or of the Krylov method) truncated to --max-rank as thin_svd does.
Eigen::VectorXd kept_values(const DistributedSpectrum& spectrum, const Options& options) {
  Eigen::VectorXd sigma = spectrum.s;
  if (options.max_rank && sigma.size() > *options.max_rank)
    sigma.conservativeResize(*options.max_rank);
  return sigma;
}

// One slot per layer in every per-layer vector of `factors`.
void resize_slots(LayerFactors& factors, std::size_t layers) {
  factors.local.resize(layers);
  factors.distributed.resize(layers);
  factors.kept_s.resize(layers);
  factors.reports.resize(layers);
  factors.s_max.resize(layers, 0.0);
  factors.first_neuron.resize(layers, 0);
}

}  // namespace

void factor_lapack_layers(LayerFactors& factors, const ModelFile& model, const NetworkPlan& plan,
                          const ExecutionPlan& execution, const Options& options, int rank,
                          const std::function<void(std::size_t)>& on_layer_done) {
  resize_slots(factors, plan.layers.size());
  const TruncatedSvdSettings limits = truncation_limits(options);
  for (std::size_t l : execution.lapack_layers_of(rank)) {
    const LayerSpec& layer = plan.layers[l];
    const Eigen::MatrixXd M = layer_matrix(model, layer, options.network.read);
    Spectrum& kept = factors.local[l];
    SvdReport& report = factors.reports[l];
    naming_the_layer(model, layer, [&] {
      if (options.min_rank && layer.groups == 1 && !options.full_svd) {
        BottomSvdResult svd = bottom_or_full_svd(M, *options.min_rank, limits);
        kept = std::move(svd.spectrum);
        report = std::move(svd.report);
        factors.s_max[l] = svd.s_max;
        factors.first_neuron[l] = std::min(M.rows(), M.cols()) - kept.s.size();
        return;
      }
      if (layer.groups > 1) {
        // A grouped convolution's M is block diagonal: its SVD is the blocks' (spec section 7).
        kept = block_diagonal_svd(M, layer.groups, options.max_rank, options.precision);
        report.method = "lapack-full";
        report.precision = to_string(options.precision);
      } else if (options.full_svd || options.min_rank) {
        kept = thin_svd(M, options.max_rank, options.precision);
        report.method = "lapack-full";
        report.precision = to_string(options.precision);
      } else {
        TruncatedSvdResult svd = truncated_or_full_svd(M, options.max_rank, limits);
        kept = std::move(svd.spectrum);
        report = std::move(svd.report);
      }
      factors.s_max[l] = kept.s.size() > 0 ? kept.s[0] : 0.0;
      if (options.min_rank) {
        const std::int64_t all = kept.s.size();
        keep_bottom(kept, *options.min_rank);
        factors.first_neuron[l] = all - kept.s.size();
      }
    });
    if (on_layer_done) on_layer_done(l);
  }
}

void factor_scalapack_layers(LayerFactors& factors, const ModelFile& model, const NetworkPlan& plan,
                             const ExecutionPlan& execution, const Options& options,
                             const mpi::Communicator& comm,
                             const std::function<void(std::size_t)>& on_layer_done,
                             const std::function<void()>& while_core_runs) {
  resize_slots(factors, plan.layers.size());
  if (execution.teams.empty()) return;
  // Every rank calls both constructors (they are collective over comm), in the same order.
  const int team = execution.team_of(comm.rank());
  const GridShape shape =
      team >= 0 ? execution.teams[static_cast<std::size_t>(team)].grid : GridShape{1, 1};
  factors.team_grid = std::make_unique<ProcessGrid>(comm.get(), team, shape);
  bool pairs_on_grid = false;
  for (const PairExecution& pair : execution.pairs)
    pairs_on_grid |= pair.distributed && pair.team < 0;
  if (pairs_on_grid && !execution.one_grid_of_all_ranks())
    factors.all_ranks_grid =
        std::make_unique<ProcessGrid>(comm.get(), near_square_shape(comm.size()), 0);
  if (team < 0) return;
  const auto factor_layer = [&](std::size_t l) {
    const DistributedMatrix M = distributed_layer_matrix(
        model, plan.layers[l], options.network.read, *factors.team_grid, execution.block_size);
    SvdReport& report = factors.reports[l];
    const std::int64_t rank_of_m = std::min(M.rows(), M.cols());
    const std::optional<std::int64_t> K = options.max_rank ? options.max_rank : options.min_rank;
    if (K && *K < rank_of_m && !options.full_svd) {
      // The top (bottom) K by the Krylov method on the team's grid; the full SVD when it cannot
      // deliver.
      TruncatedSvdSettings limits = truncation_limits(options);
      limits.rank = *K;
      KrylovGiveUp why;
      if (options.max_rank) {
        const bool slepc =
            use_slepc(limits) &&
            slepc_copy_fits(M.rows(), M.cols(), shape.size(),
                            execution.policy.memory_per_rank_bytes, kRankOverheadBytes, limits);
        std::optional<DistributedTruncatedSvd> top = naming_the_layer(model, plan.layers[l], [&] {
          return slepc ? distributed_slepc_svd(M, limits, &why)
                       : distributed_krylov_svd(M, limits, &why);
        });
        if (top) {
          factors.distributed[l] = std::make_unique<DistributedSpectrum>(std::move(top->spectrum));
          factors.s_max[l] = factors.distributed[l]->s[0];
          report = std::move(top->report);
          return;
        }
      } else {
        std::optional<DistributedBottomSvd> bottom = naming_the_layer(
            model, plan.layers[l], [&] { return distributed_krylov_bottom_svd(M, limits, &why); });
        if (bottom) {
          factors.distributed[l] =
              std::make_unique<DistributedSpectrum>(std::move(bottom->spectrum));
          factors.s_max[l] = bottom->s_max;
          factors.first_neuron[l] = rank_of_m - *K;
          report = std::move(bottom->report);
          return;
        }
      }
      report.fallback = why.reason;
      report.fallback_cost = why.cost;
      check_fallback_memory(model, plan.layers[l], execution, l, options, why, comm.rank());
    }
    DistributedSvdOptions svd_options;
    svd_options.precision = options.precision;
    if (execution.layers[l].split) {
      svd_options.path =
          split_reduces_first(execution.layers[l].shape) ? SvdPath::ReduceFirst : SvdPath::Direct;
      svd_options.core_on_one_rank = true;
      svd_options.while_core_runs = while_core_runs;
    }
    factors.distributed[l] = std::make_unique<DistributedSpectrum>(
        naming_the_layer(model, plan.layers[l], [&] { return distributed_svd(M, svd_options); }));
    DistributedSpectrum& spectrum = *factors.distributed[l];
    factors.s_max[l] = spectrum.s.size() > 0 ? spectrum.s[0] : 0.0;
    if (options.min_rank) {
      // The bottom K move into factors of K columns, which the rest of svr uses as it uses the
      // leading columns.
      const std::int64_t all = spectrum.s.size();
      keep_bottom(spectrum, *options.min_rank);
      factors.first_neuron[l] = all - spectrum.s.size();
    }
    report.method = spectrum.bidiagonal_core    ? "scalapack-bidiagonal-lapack"
                    : spectrum.core_on_one_rank ? "scalapack-qr-lapack"
                                                : "scalapack-full";
    report.precision = to_string(options.precision);
  };
  for (std::size_t l : execution.teams[static_cast<std::size_t>(team)].layers) {
    factor_layer(l);
    factors.kept_s[l] = kept_values(*factors.distributed[l], options);
    if (on_layer_done) on_layer_done(l);
  }
}

void share_singular_values(const LayerFactors& factors, const ExecutionPlan& execution,
                           const mpi::Communicator& comm, std::vector<LayerResult>& layers) {
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const LayerExecution& how = execution.layers[l];
    Eigen::VectorXd& sigma = layers[l].sigma;
    // A LAPACK layer's values are on its rank, a ScaLAPACK layer's on every rank of its team.
    const bool scalapack = how.engine == SvdEngine::Scalapack;
    const int root = scalapack ? how.first_rank : how.rank;
    if (comm.rank() == root) sigma = scalapack ? factors.kept_s[l] : factors.local[l].s;
    std::int64_t count = comm.rank() == root ? sigma.size() : 0;
    mpi::check(MPI_Bcast(&count, 1, MPI_INT64_T, root, comm.get()), "MPI_Bcast");
    if (comm.rank() != root) sigma.resize(count);
    mpi::check(MPI_Bcast(sigma.data(), static_cast<int>(count), MPI_DOUBLE, root, comm.get()),
               "MPI_Bcast");
    // How they were computed, for summary.json and the fallback warning.
    SvdReport& report = layers[l].svd;
    if (comm.rank() == root) report = factors.reports[l];
    const bool at_root = comm.rank() == root;
    double numbers[5] = {static_cast<double>(report.iterations),
                         report.residual ? *report.residual : -1.0,
                         report.fallback_cost ? 1.0 : 0.0, at_root ? factors.s_max[l] : 0.0,
                         at_root ? static_cast<double>(factors.first_neuron[l]) : 0.0};
    mpi::check(MPI_Bcast(numbers, 5, MPI_DOUBLE, root, comm.get()), "MPI_Bcast");
    report.iterations = static_cast<std::int64_t>(numbers[0]);
    report.residual = numbers[1] >= 0.0 ? std::optional<double>(numbers[1]) : std::nullopt;
    report.fallback_cost = numbers[2] != 0.0;
    layers[l].s_max = numbers[3];
    layers[l].first_neuron = static_cast<std::int64_t>(numbers[4]);
    comm.broadcast(report.method, root);
    comm.broadcast(report.precision, root);
    comm.broadcast(report.fallback, root);
    // The group of each neuron of a grouped layer (always a LAPACK layer).
    if (layers[l].groups > 1) {
      std::vector<int>& group = layers[l].group;
      if (comm.rank() == root) group = factors.local[l].group;
      group.resize(static_cast<std::size_t>(count));
      mpi::check(MPI_Bcast(group.data(), static_cast<int>(count), MPI_INT, root, comm.get()),
                 "MPI_Bcast");
    }
  }
}

namespace {

// "svd 3/16 features.10.weight (512x4608) on rank 1", or on a team's grid, and how the
// truncated SVD went.
std::string svd_line(const RunPlans& plans, const SvrResult& result, std::size_t l) {
  const std::size_t n = plans.network.layers.size();
  const LayerExecution& how = plans.execution.layers[l];
  const LayerResult& layer = result.layers[l];
  std::string line = "svd " + std::to_string(l + 1) + "/" + std::to_string(n) + " " +
                     plans.network.layers[l].name + " (" + std::to_string(layer.rows) + "x" +
                     std::to_string(layer.cols) + ") on ";
  if (how.engine == SvdEngine::Lapack)
    line += "rank " + std::to_string(how.rank);
  else
    line += "a " + std::to_string(how.grid.rows) + "x" + std::to_string(how.grid.cols) +
            " ScaLAPACK grid (team " + std::to_string(how.team) + ", ranks " +
            std::to_string(how.first_rank) + "-" +
            std::to_string(how.first_rank + how.grid.size() - 1) + ")";
  const std::string kept = std::to_string(layer.sigma.size());
  if (layer.svd.precision == "single") line += ", single precision";
  const std::string end = layer.first_neuron > 0 ? "bottom " : "top ";
  const std::string iterations = std::to_string(layer.svd.iterations) +
                                 (layer.svd.iterations == 1 ? " iteration" : " iterations");
  if (layer.svd.method == "lapack-krylov" || layer.svd.method == "scalapack-krylov")
    line += ", top " + kept + " by Krylov in " + iterations;
  else if (layer.svd.method == "lapack-slepc" || layer.svd.method == "scalapack-slepc")
    line += ", top " + kept + " by SLEPc in " + std::to_string(layer.svd.iterations) +
            (layer.svd.iterations == 1 ? " restart" : " restarts");
  else if (layer.svd.method == "lapack-qr-krylov" || layer.svd.method == "scalapack-qr-krylov")
    line += ", bottom " + kept + " by QR and Krylov on R^-1 in " + iterations;
  else if (layer.svd.method == "scalapack-qr-lapack" ||
           layer.svd.method == "scalapack-bidiagonal-lapack")
    line += ", " + describe_split(LayerShape{layer.rows, layer.cols}, how.first_rank);
  if (layer.svd.fallback_cost)
    line +=
        ", full SVD: the " + end + kept + " by Krylov would cost more (" + layer.svd.fallback + ")";
  return line;
}

}  // namespace

LayerFactors svd_phase(const RunPlans& plans, const EdgeSchedule& schedule, const Options& options,
                       const mpi::Communicator& comm, SvrResult& result, EdgeWeights& E,
                       const Progress& progress) {
  LayerFactors factors;
  E.E.assign(plans.execution.pairs.size(), Eigen::MatrixXd());
  E.u_norm2.assign(plans.execution.pairs.size(), Eigen::MatrixXd());
  // After each of its layers a team (on its own grid, the team's ranks only) or a rank (its own
  // LAPACK layers, locally: no transfer) computes the pairs that layer completes, and frees the
  // factors no later pair reads.
  const auto early_pairs = [&](std::size_t l) {
    pair_edge_weights(factors, plans.network, plans.execution, result.layers, options.method(),
                      comm, schedule.after_layer[l], E,
                      options.save_spectra ? nullptr : &schedule.release);
  };
  // A team layer's values are on every rank of its team already; share_singular_values gives
  // them to the others later.
  const auto team_pairs = [&](std::size_t l) {
    result.layers[l].sigma = factors.kept_s[l];
    early_pairs(l);
  };
  const auto factor_mine = [&] {
    factor_lapack_layers(factors, plans.model, plans.network, plans.execution, options, comm.rank(),
                         early_pairs);
  };
  // On a team with split layers this rank's LAPACK layers wait for the first core, so that
  // they fill the time the team's first rank spends on it.
  const int team = plans.execution.team_of(comm.rank());
  bool deferred = false;
  if (team >= 0)
    for (std::size_t l : plans.execution.teams[static_cast<std::size_t>(team)].layers)
      deferred |= plans.execution.layers[l].split;
  mpi::agreed(comm, [&] {
    inject_failure_point("svd", comm.rank());
    if (!deferred) factor_mine();
  });
  // An error in a deferred layer waits until the team is out of its collectives.
  std::exception_ptr deferred_error;
  const auto while_core_runs = [&] {
    if (!deferred) return;
    deferred = false;
    try {
      factor_mine();
    } catch (...) {
      deferred_error = std::current_exception();
    }
  };
  if (!plans.execution.teams.empty())
    mpi::agreed(comm, [&] {
      factor_scalapack_layers(factors, plans.model, plans.network, plans.execution, options, comm,
                              team_pairs, while_core_runs);
    });
  mpi::agreed(comm, [&] {
    while_core_runs();  // the first rank of a team, or no core ran (all-zero layer, Krylov)
    if (deferred_error) std::rethrow_exception(deferred_error);
  });
  mpi::agreed(comm, [&] { share_singular_values(factors, plans.execution, comm, result.layers); });
  for (std::size_t l = 0; l < plans.network.layers.size(); ++l) {
    progress.say(svd_line(plans, result, l));
    const SvdReport& report = result.layers[l].svd;
    // A failure of the truncated SVD is worth a warning; the cost rule's choice is not.
    if (comm.is_root() && !report.fallback.empty() && !report.fallback_cost)
      std::fprintf(stderr, "svr: warning: %s: the truncated SVD fell back to the full SVD: %s\n",
                   result.layers[l].name.c_str(), report.fallback.c_str());
  }
  return factors;
}

}  // namespace svr
