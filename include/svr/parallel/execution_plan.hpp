#pragma once
// How the SVD of every layer runs: a plain value computed identically on every rank from the
// layer shapes and the options, so no rank has to be told. Small layers are given whole to
// single ranks (LayerPartition, longest processing time first); a layer with
// min(rows, cols) >= scalapack_min_dim is factored by ScaLAPACK on the near-square grid of a
// *team*: a contiguous range of ranks. Teams run concurrently, each factoring its layers one
// after the other in layer order; they are sized by cost within a memory budget per rank
// (plan_grid_teams, docs/distributed-svd.md "Grids sized by cost"). Each pair of consecutive
// layers gets an owner rank that ends up with its edge weights E and computes its statistics
// (docs/algorithms.md, "Distributed reduction").
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "svr/parallel/grid_shape.hpp"
#include "svr/parallel/partition.hpp"

namespace svr {

enum class SvdEngine { Lapack, Scalapack };

// What the SVDs compute and keep, for the memory model (--max-rank, --min-rank, --full-svd).
struct Truncation {
  // K of --max-rank or --min-rank when the truncated methods run: each layer keeps K triplets
  // and works with a Krylov basis instead of the full SVD's factors. 0: full SVDs, every
  // triplet kept (also --full-svd, which computes them all before keeping K).
  std::int64_t rank = 0;
  bool bottom = false;  // --min-rank: the bottom K, by a QR of M and its r x r triangle
  // --precision single: the top K's products run on a float copy of M (half of M's bytes). On a
  // team of 2 or more ranks the copy of M the model holds already covers it.
  bool single = false;
};

// The triplets a layer of `shape` keeps under `truncation`: min(rows, cols), or K below it.
double kept_triplets(const LayerShape& shape, const Truncation& truncation);

struct LayerExecution {
  LayerShape shape;
  double cost = 0.0;  // SVD cost model: rows * cols * min(rows, cols) (LayerPartition::svd_cost)
  // Bytes of M and its kept factors U, s, V: 8 (rows cols + (rows + cols + 1) k), k the kept
  // triplets (kept_triplets).
  double bytes = 0.0;
  SvdEngine engine = SvdEngine::Lapack;
  int rank = -1;         // Lapack: the rank that reads and factors the whole layer; else -1
  GridShape grid{0, 0};  // Scalapack: its team's grid; else 0x0
  int team = -1;         // Scalapack: index into ExecutionPlan::teams; else -1
  int first_rank = -1;   // Scalapack: the team's first rank (grid rank = rank - first_rank)
  // Scalapack because it was split (GridPolicy::split_min_dim): QR or LQ and Q's application on
  // the team's grid, the r x r core by LAPACK on the team's first rank; or, for a layer less
  // than twice as long as wide (split_reduces_first), the reduction to bidiagonal form and its
  // reflectors on the grid, the bidiagonal SVD by LAPACK on the first rank.
  bool split = false;
};

// A set of ranks that factors some of the ScaLAPACK layers together, on one near-square grid of
// ranks [first_rank, first_rank + grid.size()), one layer after the other in layer order.
struct GridTeam {
  int first_rank = 0;
  GridShape grid{1, 1};
  std::vector<std::size_t> layers;  // increasing layer order
  double cost = 0.0;                // sum of the layers' SVD costs
  double bytes_per_rank = 0.0;      // team_bytes_per_rank(its layers, grid.size())
};

// How the ScaLAPACK layers are spread over teams.
struct GridPolicy {
  int max_grids = 0;                  // at most this many concurrent teams; 0: no limit
  double memory_per_rank_bytes = 0.0;  // the budget a team's ranks must stay within; 0: none
  // Teams are added only while some rank would hold fewer elements than this of its team's
  // largest layer: below it pdgesvd spends its time communicating (docs/distributed-svd.md).
  double min_local_elements = kDefaultMinLocalElements;
  static constexpr double kDefaultMinLocalElements = 1024.0 * 1024.0;
  // On 2 or more ranks a layer below scalapack_min_dim is *split* over a team when it holds more
  // than the average load per rank (its SVD cost above the sum of all costs / ranks), its
  // min(rows, cols) is at least split_min_dim, and the core's LAPACK SVD fits the memory budget
  // (split_core_bytes on all ranks). 0: never.
  std::int64_t split_min_dim = kDefaultSplitMinDim;
  static constexpr std::int64_t kDefaultSplitMinDim = 1024;
  // The memory model of the teams follows what the SVDs keep and work with.
  Truncation truncation;
  // --save-spectra: every factor stays until the output phase, so a team frees none of them
  // early (team_bytes_per_rank).
  bool keeps_factors = false;
};

// Whether a split layer goes through QR or LQ first (its long side at least twice the short one:
// then the QR or LQ and Q's application carry most of its cost), or else through the bidiagonal
// form.
bool split_reduces_first(const LayerShape& shape);

// The bidiagonal SVD's share of a square layer's SVD cost (dbdsdc's vectors against dgesdd's
// whole, docs/distributed-svd.md): the part of a split square layer its core rank carries alone.
inline constexpr double kBidiagonalCoreShare = 0.2;

// The serial part of a split layer's cost in the units of the SVD cost model: r^3 for the core
// of a QR or LQ first, kBidiagonalCoreShare r^3 for a bidiagonal core.
double split_core_cost(const LayerShape& shape);

// Estimated peak bytes on the rank that factors a split layer's r x r core with LAPACK, on a
// team of `ranks`: its share of M and of the QR's copy of M (2 rows cols / ranks doubles), the
// gathered core, dgesdd's copy, its workspace and the factors (about 8 r^2 doubles), plus
// kRankOverheadBytes.
double split_core_bytes(const LayerShape& shape, int ranks);

// The two layers of a pair: the producer `from` and the consumer `to` (from < to).
struct PairLayers {
  int from = 0;
  int to = 0;
};

// Who computes the edge weights E of the pair (from, to), and how. Both layers LAPACK: the owner
// of one of them computes E serially after receiving the other's factor (the smaller one of
// U_l, V_l+1 travels; none if one rank owns both). A pair touching a ScaLAPACK layer: E by
// distributed_edge_weights on the grid of all ranks, delivered whole to the owner (the LAPACK
// layer's rank, or, both on grids, the rank holding the fewest E entries so far); when both
// layers are on the same team (and that team is not simply all ranks), on that team's grid
// instead, with the owner among its ranks, so no factor leaves the team.
struct PairExecution {
  int from = 0, to = 0;  // the layers (PairLayers)
  int owner = 0;
  bool distributed = false;  // E computed on a ScaLAPACK grid
  int team = -1;             // distributed on this team's grid; -1: on the grid of all ranks
  int sender = -1;           // both LAPACK: the rank that sends its factor to owner; else -1
  bool sends_u = false;      // sender sends U_l (true) or V_l+1 (false)
  double e_entries = 0.0;    // r(l+1) r(l) without --max-rank: the owner's share of the work
};

struct ExecutionPlan {
  int ranks = 1;
  std::int64_t scalapack_min_dim = 0;
  std::int64_t block_size = 0;
  std::vector<LayerExecution> layers;
  std::vector<PairExecution> pairs;  // in the order given to plan_execution
  std::vector<GridTeam> teams;       // in rank order (teams[0] starts at rank 0)
  // Two or more teams, each a run of consecutive layers (plan_grid_teams); false when the
  // layers were dealt by cost, or for one team.
  bool teams_in_runs = false;
  GridPolicy policy;
  // Non-empty when no team layout met the memory budget: the plan then uses one team of all
  // ranks (the least memory per rank there is), and this says by how much it is over.
  std::string budget_warning;

  // The team `rank` belongs to, or -1.
  int team_of(int rank) const;
  // Whether the ScaLAPACK layers share one grid of all ranks in near-square shape (then that
  // grid also serves the pairs, and nothing is redistributed between grids).
  bool one_grid_of_all_ranks() const;

  // Pairs whose E ends up on `rank`, in increasing pair order.
  std::vector<std::size_t> pairs_of(int rank) const;

  // Layers this rank factors alone with LAPACK, in increasing layer order.
  std::vector<std::size_t> lapack_layers_of(int rank) const;
  // Layers factored on a ScaLAPACK grid, in increasing layer order (run in this order).
  std::vector<std::size_t> scalapack_layers() const;
  // Sum of the LAPACK costs given to `rank`.
  double lapack_load_of(int rank) const;
  // The part of the split layers' cost `rank` carries, in the units of the SVD cost model: a
  // split layer m x n (r = min) costs its team's ranks (m n r - core) / team size each for the
  // distributed steps, and its first rank the core (split_core_cost) more. The LAPACK layers are
  // dealt on top of these loads.
  double split_load_of(int rank) const;
};

// How a split layer of `shape` is factored, as --plan and the progress line say it: "split: LQ
// on the grid, the core by LAPACK on rank 4" (QR for a tall layer, LQ for a wide one), or
// "split: bidiagonal form on the grid, its SVD by LAPACK on rank 4".
std::string describe_split(LayerShape shape, int core_rank);

// Estimated peak bytes per rank of a team of `ranks` processes factoring `layers` one after the
// other and keeping every layer's factors U, V ((rows + cols) k, k = kept_triplets) until the
// edges are done, while the largest layer's working set is alive, all block-cyclic, so divided
// by `ranks`, plus kRankOverheadBytes for MPI, the libraries and the buffers. The working set of
// a full SVD is its matrix M, pdgesvd's copy of M, U and V^T before V is transposed out
// (2 rows cols + 2 (rows + cols) r). A truncated one (K below r) holds M, a copy of it on a team
// of 2 or more ranks (SLEPc's P x 1 layout) and for the bottom K (the QR's, with its r x r
// triangle; in single precision on one rank, the float copy of the top K's products), and the
// Krylov method's basis on both sides, 2 (rows + cols) b with
// b = min(r, 8 (K + max(10, K / 4))) (krylov_method.hpp's basis_limit, more than SLEPc's 2K).
// It is a budget, so it errs high: 5% and 13% above the measured peaks of the wide-MLP
// benchmark at 1 and 2 ranks, 34% and 19% above those of the 16384 x 65536 pair with
// --max-rank 256 (docs/benchmarks.md). The LAPACK layers and the edge weights E are not counted.
// This is the team whose factors all wait for the edges phase (--save-spectra, or every pair
// leaves the team); team_bytes_per_rank follows the factors a team frees early.
constexpr double kRankOverheadBytes = 256.0 * 1024 * 1024;
double grid_bytes_per_rank(const std::vector<LayerShape>& layers, int ranks,
                           const Truncation& truncation = {});

// The same for a team that computes E of its own pairs as it goes (app's edge_schedule: a pair
// whose layers are both the team's is computed right after the later one's SVD, and a factor is
// freed after its last reader). team_layers are indices into `shapes`, in increasing order;
// `pairs` are the network's. A team layer's factors stay until the SVD of the later layer of its
// last pair, or to the end when some pair reads it from outside the team (the edges phase), no
// pair reads it, or policy.keeps_factors. The peak is the largest, over the team's layers, of
// the factors still alive from earlier layers plus the layer's own factors and its working set
// (as above).
// In a chain on one team that is two layers' factors and one working set, not every factor: the
// wide-MLP benchmark's 10 layers of 2048 on one team of 2 ranks are 416 MiB per rank against a
// measured peak of 357 (docs/benchmarks.md, "Memory of the factors and E"), every factor 672.
// E is not counted, as above (the owners hold each early pair's E).
double team_bytes_per_rank(const std::vector<LayerShape>& shapes,
                           const std::vector<std::size_t>& team_layers,
                           const std::vector<PairLayers>& pairs, int ranks,
                           const GridPolicy& policy);

// The same for the team of a ScaLAPACK layer `layer` of plan when the truncated method gives up
// on it and it falls back to the full SVD: team_bytes_per_rank with that layer's full SVD
// working set. Equal to the team's bytes_per_rank without truncation.
double full_svd_bytes_per_rank(const ExecutionPlan& plan, std::size_t layer);

// Teams of consecutive layers compute most pairs' E as they go and free the factors early
// (team_bytes_per_rank), and those pairs' factors never leave the team; plan_grid_teams therefore
// prefers them to the cost-balanced deal unless their SVD phase is estimated more than this
// factor longer (the largest cost per rank of a team).
inline constexpr double kRunsSlack = 1.1;

// The teams of the ScaLAPACK layers on plan.ranks ranks (plan.layers, plan.policy; `pairs` the
// network's, for the memory model). For T = 1, 2, .. up to min(large layers, ranks, max_grids),
// two ways to deal the layers to T teams:
//   - longest processing time first (by cost, to the team with the least cost so far);
//   - in runs of consecutive layers, with the least largest run cost.
// Each team gets the fewest ranks that keep team_bytes_per_rank within the budget, and the
// other ranks go one by one to the team with the highest cost per rank. The runs are taken when
// they fit and their largest cost per rank is within kRunsSlack of the other's (or the other
// does not fit). A T where neither fits is skipped. The first T where every rank holds at least
// min_local_elements of its team's largest layer is taken, else the largest T that fits: few big
// grids while each rank has enough work, more and smaller grids side by side when it would not.
// If even one team of all ranks is over the budget, that team is used and budget_warning says
// so. Teams are then ordered by their first layer and given consecutive rank ranges.
void plan_grid_teams(ExecutionPlan& plan, const std::vector<PairLayers>& pairs);

// Throws std::invalid_argument for ranks < 1, scalapack_min_dim < 1, block_size < 1,
// max_grids < 0, a negative budget or a negative truncation rank.
// Throws std::invalid_argument for a pair whose layers do not exist or with from >= to.
ExecutionPlan plan_execution(const std::vector<LayerShape>& shapes,
                             const std::vector<PairLayers>& pairs, int ranks,
                             std::int64_t scalapack_min_dim, std::int64_t block_size,
                             const GridPolicy& policy = {});
// The same for a chain: pairs (l, l + 1).
ExecutionPlan plan_execution(const std::vector<LayerShape>& shapes, int ranks,
                             std::int64_t scalapack_min_dim, std::int64_t block_size,
                             const GridPolicy& policy = {});

// The plan as text for `svr --plan`, one line per layer (names[l] names layer l):
//   "  3/6  features.7.weight  32x288  cost 2.9e+05  0.1 MB  LAPACK on rank 1"
//   "  5/6  classifier.0.weight  4096x25088  cost 4.2e+11  1.6e+03 MB  ScaLAPACK, team 0: 1x2 grid of ranks 0-1"
// after a header line, and followed by the LAPACK load of every rank, one line per team (its
// ranks, grid, layers, cost and estimated memory per rank) and one line per pair:
//   "  pair 2/5  E 32x16 on rank 1 (LAPACK; U of layer 2 from rank 0)"
// pair_labels[k], when given, follows "pair k+1/n" (e.g. "conv1 -> layer1.0.conv1 (direct)").
std::string describe_plan(const ExecutionPlan& plan, const std::vector<std::string>& names,
                          const std::vector<std::string>& pair_labels = {});

}  // namespace svr
