#pragma once
// The edges phase: the edge weights E of every pair, computed on (or delivered to) the pair's
// owner rank of the ExecutionPlan, from factors that stay where the SVD left them. No rank but a
// pair's owner ever holds its E.
#include <Eigen/Dense>
#include <vector>

#include "svr/app/phase_svd.hpp"
#include "svr/core/results.hpp"
#include "svr/network/network_plan.hpp"
#include "svr/parallel/execution_plan.hpp"
#include "svr/parallel/mpi.hpp"

namespace svr {

struct RunPlans;
class Progress;

// E of every pair on its owner, and where the pair's null needs them (network_plan.hpp
// PairNull: a pair reading only some of its producer's channels, a grouped consumer) the
// squared norms of its producer neurons over the channels each consumer group reads
// (consumer groups x r(from); 0x0 for other pairs).
struct EdgeWeights {
  std::vector<Eigen::MatrixXd> E;
  std::vector<Eigen::MatrixXd> u_norm2;
};

// Which factors each pair is the last to read when the pairs are computed in `order` (each pair
// once), from the plan alone (the same on every rank): after pair l, the U of the layers in
// u[l] (producers) and the V of those in v[l] (consumers) are no longer needed, nor anything of
// the layers in both[l]. A layer in no pair is in none.
struct FactorRelease {
  std::vector<std::vector<std::size_t>> u, v, both;
};
FactorRelease factor_release(const NetworkPlan& plan, const std::vector<std::size_t>& order);

// When each pair's E is computed, from the plans alone (the same on every rank). Two kinds of
// pair are computed in the SVD phase, as soon as their second layer is factored
// (after_layer[l] lists those that layer l completes, in pair order):
//   - both layers factored by the same ScaLAPACK team (with one team of all ranks, every pair of
//     two ScaLAPACK layers): by that team, on its grid;
//   - both layers LAPACK layers of the same rank: by that rank, alone.
// Every other pair waits for the edges phase (edges_phase, in pair order). `order` is every pair
// once, in the order a rank meets those that read its factors: each team's, team by team, then
// the ranks' own (by their second layer), then the edges phase's. Computing E early lets a team
// or a rank free a layer's factors before it factors the next layers, so that a deep network of
// wide layers never holds every layer's U and V at once.
struct EdgeSchedule {
  std::vector<std::vector<std::size_t>> after_layer;
  std::vector<std::size_t> edges_phase;
  std::vector<std::size_t> order;
  FactorRelease release;  // factor_release(plan, order): what each pair frees, in either phase
};
EdgeSchedule edge_schedule(const NetworkPlan& plan, const ExecutionPlan& execution);

// Collective over every rank that holds a factor of `pairs` or their E: for each pair of
// `pairs` in that order, E[l] (r(to) x r(from)) into out.E[l] on execution.pairs[l].owner (out
// has a slot per pair). Both layers LAPACK: the smaller factor travels point to point to the
// owner, which calls edge_weights. A pair touching a ScaLAPACK layer: distributed_edge_weights
// on its team's grid (the team's ranks only) or on the grid of all ranks. layers[l].sigma gives
// how many neurons each layer keeps, on every rank that takes part. With `release`, each factor
// is freed after the last pair that reads it (a LAPACK layer's U and V one by one, a ScaLAPACK
// layer's both together; local memory only), so that a rank needs the factors plus one E at a
// time, not plus every E.
void pair_edge_weights(LayerFactors& factors, const NetworkPlan& plan,
                       const ExecutionPlan& execution, const std::vector<LayerResult>& layers,
                       Method method, const mpi::Communicator& comm,
                       const std::vector<std::size_t>& pairs, EdgeWeights& out,
                       const FactorRelease* release);

// E of one pair on one rank from the whole factors of its layers (U of the producer, V of the
// consumer): what pair_edge_weights computes when both layers are LAPACK layers. The rows the
// pair's channel map selects, then edge_weights; with null.norms (null = pair_null(pair,
// method)) also the squared norms of the producer neurons per consumer group into `norm2`
// (EdgeWeights::u_norm2), which is left alone otherwise.
Eigen::MatrixXd serial_edge_weights(const Eigen::MatrixXd& U, const Eigen::MatrixXd& V,
                                    const PairSpec& pair, const PairNull& null,
                                    Eigen::MatrixXd& norm2);

// The phase, collective, one agreed step each: the failure point, E of every pair the SVD phase
// left (schedule.edges_phase) on its owner, into `E` (which holds the SVD phase's pairs already;
// pair_edge_weights, which frees each factor after its last pair unless --save-spectra keeps
// them for their owners to write in the output phase). The grids are left to the caller (the
// pipeline frees them together, a collective).
void edges_phase(LayerFactors& factors, EdgeWeights& E, const EdgeSchedule& schedule,
                 const RunPlans& plans, const Options& options, const mpi::Communicator& comm,
                 SvrResult& result, const Progress& progress);

}  // namespace svr
