#include "svr/parallel/execution_plan.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <stdexcept>

namespace svr {
namespace {

std::string number(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

std::string padded(const std::string& text, std::size_t width) {
  return text.size() >= width ? text : text + std::string(width - text.size(), ' ');
}

// "1x2 grid of ranks 0-1" (or "of rank 3").
std::string grid_text(const ExecutionPlan& plan, int team) {
  const GridTeam& t = plan.teams[static_cast<std::size_t>(team)];
  const int last = t.first_rank + t.grid.size() - 1;
  return std::to_string(t.grid.rows) + "x" + std::to_string(t.grid.cols) + " grid of " +
         (last == t.first_rank
              ? "rank " + std::to_string(last)
              : "ranks " + std::to_string(t.first_rank) + "-" + std::to_string(last));
}

double rank_of(const LayerShape& shape) {
  return static_cast<double>(std::min(shape.rows, shape.cols));
}

std::vector<LayerShape> all_shapes(const ExecutionPlan& plan) {
  std::vector<LayerShape> shapes;
  for (const LayerExecution& layer : plan.layers) shapes.push_back(layer.shape);
  return shapes;
}

// Pair owners (see PairExecution). The E entries each rank holds are counted so that pairs on
// the grid go where the least E already is: E, its p-values and its reported edges are what
// the owner keeps in memory.
void plan_pairs(ExecutionPlan& plan, const std::vector<PairLayers>& pairs) {
  std::vector<double> entries(static_cast<std::size_t>(plan.ranks), 0.0);
  for (const PairLayers& layers : pairs) {
    const LayerExecution& from = plan.layers[static_cast<std::size_t>(layers.from)];
    const LayerExecution& to = plan.layers[static_cast<std::size_t>(layers.to)];
    PairExecution pair;
    pair.from = layers.from;
    pair.to = layers.to;
    pair.e_entries = rank_of(from.shape) * rank_of(to.shape);
    const bool from_lapack = from.engine == SvdEngine::Lapack;
    const bool to_lapack = to.engine == SvdEngine::Lapack;
    if (from_lapack && to_lapack) {
      pair.owner = to.rank;
      if (from.rank != to.rank) {
        // U of `from` is rows x r, V of `to` is cols x r: move the smaller one.
        const double u = static_cast<double>(from.shape.rows) * rank_of(from.shape);
        const double v = static_cast<double>(to.shape.cols) * rank_of(to.shape);
        pair.sends_u = u <= v;
        pair.owner = pair.sends_u ? to.rank : from.rank;
        pair.sender = pair.sends_u ? from.rank : to.rank;
      }
    } else {
      pair.distributed = true;
      if (from_lapack || to_lapack) {
        pair.owner = from_lapack ? from.rank : to.rank;
      } else {
        // Candidates: the team's ranks when both layers are on one team, else every rank.
        auto first = entries.begin(), last = entries.end();
        if (from.team == to.team && !plan.one_grid_of_all_ranks()) {
          pair.team = from.team;
          first = entries.begin() + from.first_rank;
          last = first + from.grid.size();
        }
        pair.owner = static_cast<int>(std::min_element(first, last) - entries.begin());
      }
    }
    entries[static_cast<std::size_t>(pair.owner)] += pair.e_entries;
    plan.pairs.push_back(pair);
  }
}

std::string mib(double bytes) { return number("%.0f", bytes / (1024.0 * 1024.0)) + " MiB"; }

// Doubles of the working set of one layer's SVD on a team of `ranks` (grid_bytes_per_rank).
double working_doubles(const LayerShape& shape, int ranks, const Truncation& truncation) {
  const double rows = static_cast<double>(shape.rows);
  const double cols = static_cast<double>(shape.cols);
  const double r = std::min(rows, cols);
  const double K = static_cast<double>(truncation.rank);
  if (truncation.rank <= 0 || K >= r) return 2.0 * rows * cols + 2.0 * (rows + cols) * r;
  const double basis = std::min(r, 8.0 * (K + std::max(10.0, std::floor(K / 4.0))));
  const bool copy = ranks > 1 || truncation.bottom;
  const double copies = copy ? 2.0 : truncation.single ? 1.5 : 1.0;
  return copies * rows * cols + 2.0 * (rows + cols) * basis + (truncation.bottom ? r * r : 0.0);
}

double kept_factor_doubles(const LayerShape& shape, const Truncation& truncation) {
  return static_cast<double>(shape.rows + shape.cols) * kept_triplets(shape, truncation);
}

double bytes_per_rank(double doubles, int ranks) {
  return 8.0 * doubles / std::max(ranks, 1) + kRankOverheadBytes;
}

constexpr std::size_t kToTheEnd = static_cast<std::size_t>(-1);

// For each of a team's layers (positions in team_layers), the position of the last team layer
// whose SVD its factors must outlive: the later layer of its last pair within the team, or
// kToTheEnd (see team_bytes_per_rank).
std::vector<std::size_t> factor_lifetimes(std::size_t layer_count,
                                          const std::vector<std::size_t>& team_layers,
                                          const std::vector<PairLayers>& pairs,
                                          bool keeps_factors) {
  std::vector<std::size_t> until(team_layers.size(), kToTheEnd);
  if (keeps_factors) return until;
  std::vector<std::size_t> position(layer_count, kToTheEnd);
  for (std::size_t k = 0; k < team_layers.size(); ++k) position[team_layers[k]] = k;
  std::vector<bool> read(team_layers.size(), false), leaves(team_layers.size(), false);
  std::vector<std::size_t> last(team_layers.size(), 0);
  for (const PairLayers& pair : pairs) {
    const std::size_t from = position[static_cast<std::size_t>(pair.from)];
    const std::size_t to = position[static_cast<std::size_t>(pair.to)];
    for (const auto& [mine, other] : {std::pair{from, to}, std::pair{to, from}}) {
      if (mine == kToTheEnd) continue;
      read[mine] = true;
      if (other == kToTheEnd)
        leaves[mine] = true;
      else
        last[mine] = std::max(last[mine], std::max(mine, other));
    }
  }
  for (std::size_t k = 0; k < team_layers.size(); ++k)
    if (read[k] && !leaves[k]) until[k] = last[k];
  return until;
}

// Doubles per team at its peak (team_bytes_per_rank), the layer at position full_at (or none)
// with the full SVD's working set.
double team_peak_doubles(const std::vector<LayerShape>& layers,
                         const std::vector<std::size_t>& until, int ranks,
                         const Truncation& truncation, std::size_t full_at) {
  double peak = 0.0;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    double alive = kept_factor_doubles(layers[i], truncation) +
                   working_doubles(layers[i], ranks, i == full_at ? Truncation{} : truncation);
    for (std::size_t j = 0; j < i; ++j)
      if (until[j] >= i) alive += kept_factor_doubles(layers[j], truncation);
    peak = std::max(peak, alive);
  }
  return peak;
}

std::vector<LayerShape> shapes_of(const std::vector<LayerShape>& shapes,
                                  const std::vector<std::size_t>& layers) {
  std::vector<LayerShape> mine;
  for (std::size_t l : layers) mine.push_back(shapes.at(l));
  return mine;
}

// The fewest ranks (1..ranks) that keep a team of these layers within the budget, or 0 if none
// does.
int fewest_ranks(const std::vector<LayerShape>& shapes, const std::vector<std::size_t>& layers,
                 const std::vector<PairLayers>& pairs, int ranks, const GridPolicy& policy) {
  const double budget = policy.memory_per_rank_bytes;
  if (budget <= 0.0) return 1;
  const std::vector<std::size_t> until =
      factor_lifetimes(shapes.size(), layers, pairs, policy.keeps_factors);
  const std::vector<LayerShape> mine = shapes_of(shapes, layers);
  const auto need = [&](int p) {
    return bytes_per_rank(team_peak_doubles(mine, until, p, policy.truncation, kToTheEnd), p);
  };
  // Memory falls as 1/p towards the fixed overhead: bisect for the first p within the budget.
  if (need(ranks) > budget) return 0;
  int low = 1, high = ranks;
  while (low < high) {
    const int mid = low + (high - low) / 2;
    if (need(mid) <= budget)
      high = mid;
    else
      low = mid + 1;
  }
  return low;
}

// The large layers dealt to `count` teams longest processing time first: by cost, each to the
// team with the least cost so far (ties: the lower team).
std::vector<GridTeam> deal_by_cost(const ExecutionPlan& plan, const std::vector<std::size_t>& large,
                                   int count) {
  std::vector<GridTeam> teams(static_cast<std::size_t>(count));
  std::vector<std::size_t> by_cost = large;
  std::stable_sort(by_cost.begin(), by_cost.end(), [&](std::size_t a, std::size_t b) {
    return plan.layers[a].cost > plan.layers[b].cost;
  });
  for (std::size_t l : by_cost) {
    GridTeam& least = *std::min_element(
        teams.begin(), teams.end(),
        [](const GridTeam& a, const GridTeam& b) { return a.cost < b.cost; });
    least.layers.push_back(l);
    least.cost += plan.layers[l].cost;
  }
  for (GridTeam& team : teams) std::sort(team.layers.begin(), team.layers.end());
  return teams;
}

// The large layers, in layer order, cut into `count` runs of consecutive layers whose largest
// cost is the least there is: the bisection of that cost, each run filled greedily up to it;
// runs are then split (the costliest first, where its halves are most even) until there are
// `count`. count <= large.size().
std::vector<GridTeam> deal_in_runs(const ExecutionPlan& plan, const std::vector<std::size_t>& large,
                                   int count) {
  const auto cost = [&](std::size_t l) { return plan.layers[l].cost; };
  // Runs of at most `limit` each, or none if a layer alone is above it.
  const auto cut = [&](double limit) {
    std::vector<GridTeam> runs;
    for (std::size_t l : large) {
      if (runs.empty() || runs.back().cost + cost(l) > limit) runs.emplace_back();
      runs.back().layers.push_back(l);
      runs.back().cost += cost(l);
    }
    return runs;
  };
  double low = 0.0, high = 0.0;
  for (std::size_t l : large) {
    low = std::max(low, cost(l));
    high += cost(l);
  }
  if (cut(low).size() > static_cast<std::size_t>(count)) {
    // cut(high) is one run; cut(low) too many. Halve the gap until it is a rounding error.
    for (int step = 0; step < 200 && high - low > 1e-12 * high; ++step) {
      const double mid = low + (high - low) / 2;
      if (cut(mid).size() <= static_cast<std::size_t>(count))
        high = mid;
      else
        low = mid;
    }
    low = high;
  }
  std::vector<GridTeam> runs = cut(low);
  while (runs.size() < static_cast<std::size_t>(count)) {
    std::size_t widest = runs.size();
    for (std::size_t t = 0; t < runs.size(); ++t)
      if (runs[t].layers.size() > 1 && (widest == runs.size() || runs[t].cost > runs[widest].cost))
        widest = t;
    const std::vector<std::size_t> layers = runs[widest].layers;
    std::size_t best = 1;
    double best_max = runs[widest].cost, left = 0.0;
    for (std::size_t k = 1; k < layers.size(); ++k) {
      left += cost(layers[k - 1]);
      const double larger = std::max(left, runs[widest].cost - left);
      if (larger < best_max) {
        best_max = larger;
        best = k;
      }
    }
    GridTeam first, second;
    for (std::size_t k = 0; k < layers.size(); ++k) {
      GridTeam& half = k < best ? first : second;
      half.layers.push_back(layers[k]);
      half.cost += cost(layers[k]);
    }
    runs[widest] = first;
    runs.insert(runs.begin() + static_cast<std::ptrdiff_t>(widest) + 1, second);
  }
  return runs;
}

// Ranks for each of `teams`: the fewest that keep it within the budget, then the remaining
// ranks one at a time to the team that would take longest (cost per rank; ties: the lower
// team), so that the teams finish at about the same time. False if the budget cannot be met.
bool size_teams(const ExecutionPlan& plan, const std::vector<PairLayers>& pairs,
                std::vector<GridTeam>& teams) {
  std::vector<int> size(teams.size(), 0);
  int used = 0;
  const std::vector<LayerShape> shapes = all_shapes(plan);
  for (std::size_t t = 0; t < teams.size(); ++t) {
    size[t] = fewest_ranks(shapes, teams[t].layers, pairs, plan.ranks, plan.policy);
    if (size[t] == 0) return false;
    used += size[t];
  }
  if (used > plan.ranks) return false;
  for (; used < plan.ranks; ++used) {
    std::size_t slowest = 0;
    for (std::size_t t = 1; t < teams.size(); ++t)
      if (teams[t].cost * size[slowest] > teams[slowest].cost * size[t]) slowest = t;
    ++size[slowest];
  }
  for (std::size_t t = 0; t < teams.size(); ++t) teams[t].grid = near_square_shape(size[t]);
  return true;
}

// The SVD phase's estimated length with these teams: the largest cost per rank.
double longest_team(const std::vector<GridTeam>& teams) {
  double longest = 0.0;
  for (const GridTeam& team : teams) longest = std::max(longest, team.cost / team.grid.size());
  return longest;
}

// One candidate layout with `count` teams (see plan_grid_teams); false if the budget cannot be
// met with `count` teams on plan.ranks ranks.
bool try_teams(const ExecutionPlan& plan, const std::vector<std::size_t>& large,
               const std::vector<PairLayers>& pairs, int count, std::vector<GridTeam>& teams,
               bool& in_runs) {
  std::vector<GridTeam> by_cost = deal_by_cost(plan, large, count);
  std::vector<GridTeam> runs_deal = deal_in_runs(plan, large, count);
  const bool by_cost_fits = size_teams(plan, pairs, by_cost);
  const bool in_runs_fit = size_teams(plan, pairs, runs_deal);
  if (!by_cost_fits && !in_runs_fit) return false;
  in_runs = in_runs_fit &&
            (!by_cost_fits || longest_team(runs_deal) <= kRunsSlack * longest_team(by_cost));
  teams = in_runs ? std::move(runs_deal) : std::move(by_cost);
  return true;
}

// Whether every rank of every team holds at least min_local_elements of its largest layer.
bool enough_work_per_rank(const ExecutionPlan& plan, const std::vector<GridTeam>& teams) {
  for (const GridTeam& team : teams) {
    double largest = 0.0;
    for (std::size_t l : team.layers)
      largest = std::max(largest, static_cast<double>(plan.layers[l].shape.rows) *
                                      static_cast<double>(plan.layers[l].shape.cols));
    if (largest / team.grid.size() < plan.policy.min_local_elements) return false;
  }
  return true;
}

// Whether a layer below scalapack_min_dim is split over a team (GridPolicy::split_min_dim).
bool splits(const LayerExecution& layer, double total_cost, const ExecutionPlan& plan) {
  const std::int64_t r = std::min(layer.shape.rows, layer.shape.cols);
  const double budget = plan.policy.memory_per_rank_bytes;
  return plan.ranks > 1 && plan.policy.split_min_dim > 0 && layer.shape.blocks <= 1 &&
         r >= plan.policy.split_min_dim && layer.cost > total_cost / plan.ranks &&
         (budget <= 0.0 || split_core_bytes(layer.shape, plan.ranks) <= budget);
}

}  // namespace

bool split_reduces_first(const LayerShape& shape) {
  return std::max(shape.rows, shape.cols) >= 2 * std::min(shape.rows, shape.cols);
}

double split_core_cost(const LayerShape& shape) {
  const double r = static_cast<double>(std::min(shape.rows, shape.cols));
  return (split_reduces_first(shape) ? 1.0 : kBidiagonalCoreShare) * r * r * r;
}

double split_core_bytes(const LayerShape& shape, int ranks) {
  const double rows = static_cast<double>(shape.rows), cols = static_cast<double>(shape.cols);
  const double r = std::min(rows, cols);
  return 8.0 * (2.0 * rows * cols / std::max(ranks, 1) + 8.0 * r * r) + kRankOverheadBytes;
}

double kept_triplets(const LayerShape& shape, const Truncation& truncation) {
  const double r = rank_of(shape);
  return truncation.rank > 0 ? std::min(r, static_cast<double>(truncation.rank)) : r;
}

double grid_bytes_per_rank(const std::vector<LayerShape>& layers, int ranks,
                           const Truncation& truncation) {
  double kept = 0.0, largest = 0.0;
  for (const LayerShape& shape : layers) {
    kept += kept_factor_doubles(shape, truncation);
    largest = std::max(largest, working_doubles(shape, ranks, truncation));
  }
  return bytes_per_rank(kept + largest, ranks);
}

namespace {

// team_bytes_per_rank, the layer at position full_at of team_layers (or none) with the full
// SVD's working set.
double team_bytes(const std::vector<LayerShape>& shapes,
                  const std::vector<std::size_t>& team_layers, const std::vector<PairLayers>& pairs,
                  int ranks, const GridPolicy& policy, std::size_t full_at) {
  const std::vector<std::size_t> until =
      factor_lifetimes(shapes.size(), team_layers, pairs, policy.keeps_factors);
  return bytes_per_rank(
      team_peak_doubles(shapes_of(shapes, team_layers), until, ranks, policy.truncation, full_at),
      ranks);
}

}  // namespace

double team_bytes_per_rank(const std::vector<LayerShape>& shapes,
                           const std::vector<std::size_t>& team_layers,
                           const std::vector<PairLayers>& pairs, int ranks,
                           const GridPolicy& policy) {
  return team_bytes(shapes, team_layers, pairs, ranks, policy, kToTheEnd);
}

double full_svd_bytes_per_rank(const ExecutionPlan& plan, std::size_t layer) {
  const LayerExecution& how = plan.layers.at(layer);
  if (how.team < 0) throw std::invalid_argument("full_svd_bytes_per_rank: not a ScaLAPACK layer");
  const GridTeam& team = plan.teams[static_cast<std::size_t>(how.team)];
  std::vector<PairLayers> pairs;
  for (const PairExecution& pair : plan.pairs) pairs.push_back({pair.from, pair.to});
  const auto at = static_cast<std::size_t>(
      std::find(team.layers.begin(), team.layers.end(), layer) - team.layers.begin());
  return team_bytes(all_shapes(plan), team.layers, pairs, team.grid.size(), plan.policy, at);
}

void plan_grid_teams(ExecutionPlan& plan, const std::vector<PairLayers>& pairs) {
  plan.teams.clear();
  plan.teams_in_runs = false;
  plan.budget_warning.clear();
  const std::vector<std::size_t> large = plan.scalapack_layers();
  if (large.empty()) return;
  int most = std::min(static_cast<int>(large.size()), plan.ranks);
  if (plan.policy.max_grids > 0) most = std::min(most, plan.policy.max_grids);
  std::vector<GridTeam> teams, candidate;
  bool fits = false, in_runs = false;
  for (int count = 1; count <= most; ++count) {
    bool candidate_in_runs = false;
    if (!try_teams(plan, large, pairs, count, candidate, candidate_in_runs)) continue;
    teams = candidate;
    in_runs = candidate_in_runs;
    fits = true;
    if (enough_work_per_rank(plan, teams)) break;
  }
  if (!fits) {
    // Over the budget even on all ranks: one team of all ranks is the least memory per rank.
    teams.assign(1, GridTeam{});
    teams[0].layers = large;
    for (std::size_t l : large) teams[0].cost += plan.layers[l].cost;
    teams[0].grid = near_square_shape(plan.ranks);
  }
  std::stable_sort(teams.begin(), teams.end(), [](const GridTeam& a, const GridTeam& b) {
    return a.layers.front() < b.layers.front();
  });
  int first = 0;
  const std::vector<LayerShape> shapes = all_shapes(plan);
  for (std::size_t t = 0; t < teams.size(); ++t) {
    GridTeam& team = teams[t];
    team.first_rank = first;
    first += team.grid.size();
    for (std::size_t l : team.layers) {
      plan.layers[l].grid = team.grid;
      plan.layers[l].team = static_cast<int>(t);
      plan.layers[l].first_rank = team.first_rank;
    }
    team.bytes_per_rank =
        team_bytes_per_rank(shapes, team.layers, pairs, team.grid.size(), plan.policy);
  }
  plan.teams = std::move(teams);
  plan.teams_in_runs = fits && plan.teams.size() > 1 && in_runs;
  if (!fits)
    plan.budget_warning = "the ScaLAPACK layers need about " + mib(plan.teams[0].bytes_per_rank) +
                          " per rank even on all " + std::to_string(plan.ranks) +
                          " ranks, more than the budget of " +
                          mib(plan.policy.memory_per_rank_bytes) + " per rank";
}

int ExecutionPlan::team_of(int rank) const {
  for (std::size_t t = 0; t < teams.size(); ++t)
    if (rank >= teams[t].first_rank && rank < teams[t].first_rank + teams[t].grid.size())
      return static_cast<int>(t);
  return -1;
}

bool ExecutionPlan::one_grid_of_all_ranks() const {
  if (teams.size() != 1) return false;
  const GridShape all = near_square_shape(ranks);
  return teams[0].first_rank == 0 && teams[0].grid.rows == all.rows &&
         teams[0].grid.cols == all.cols;
}

std::vector<std::size_t> ExecutionPlan::lapack_layers_of(int rank) const {
  std::vector<std::size_t> mine;
  for (std::size_t l = 0; l < layers.size(); ++l)
    if (layers[l].engine == SvdEngine::Lapack && layers[l].rank == rank) mine.push_back(l);
  return mine;
}

std::vector<std::size_t> ExecutionPlan::scalapack_layers() const {
  std::vector<std::size_t> large;
  for (std::size_t l = 0; l < layers.size(); ++l)
    if (layers[l].engine == SvdEngine::Scalapack) large.push_back(l);
  return large;
}

double ExecutionPlan::split_load_of(int rank) const {
  double load = 0.0;
  for (const LayerExecution& layer : layers) {
    if (!layer.split || rank < layer.first_rank || rank >= layer.first_rank + layer.grid.size())
      continue;
    const double core = split_core_cost(layer.shape);
    load += (layer.cost - core) / layer.grid.size() + (rank == layer.first_rank ? core : 0.0);
  }
  return load;
}

std::vector<std::size_t> ExecutionPlan::pairs_of(int rank) const {
  std::vector<std::size_t> mine;
  for (std::size_t l = 0; l < pairs.size(); ++l)
    if (pairs[l].owner == rank) mine.push_back(l);
  return mine;
}

double ExecutionPlan::lapack_load_of(int rank) const {
  double load = 0.0;
  for (const LayerExecution& layer : layers)
    if (layer.engine == SvdEngine::Lapack && layer.rank == rank) load += layer.cost;
  return load;
}

ExecutionPlan plan_execution(const std::vector<LayerShape>& shapes,
                             const std::vector<PairLayers>& pairs, int ranks,
                             std::int64_t scalapack_min_dim, std::int64_t block_size,
                             const GridPolicy& policy) {
  for (const PairLayers& pair : pairs)
    if (pair.from < 0 || pair.from >= pair.to || pair.to >= static_cast<int>(shapes.size()))
      throw std::invalid_argument("plan_execution: pair (" + std::to_string(pair.from) + ", " +
                                  std::to_string(pair.to) + ") of " +
                                  std::to_string(shapes.size()) + " layers");
  if (ranks < 1) throw std::invalid_argument("plan_execution: ranks must be >= 1");
  if (scalapack_min_dim < 1)
    throw std::invalid_argument("plan_execution: scalapack_min_dim must be >= 1");
  if (block_size < 1) throw std::invalid_argument("plan_execution: block_size must be >= 1");
  if (policy.max_grids < 0) throw std::invalid_argument("plan_execution: max_grids must be >= 0");
  if (!(policy.memory_per_rank_bytes >= 0.0) || !std::isfinite(policy.memory_per_rank_bytes))
    throw std::invalid_argument("plan_execution: the memory budget must be finite and >= 0");
  if (!(policy.min_local_elements >= 0.0))
    throw std::invalid_argument("plan_execution: min_local_elements must be >= 0");
  if (policy.split_min_dim < 0)
    throw std::invalid_argument("plan_execution: split_min_dim must be >= 0");
  if (policy.truncation.rank < 0)
    throw std::invalid_argument("plan_execution: the truncation rank must be >= 0");
  ExecutionPlan plan;
  plan.ranks = ranks;
  plan.policy = policy;
  plan.scalapack_min_dim = scalapack_min_dim;
  plan.block_size = block_size;
  plan.layers.resize(shapes.size());
  double total_cost = 0.0;
  for (std::size_t l = 0; l < shapes.size(); ++l) {
    LayerExecution& layer = plan.layers[l];
    layer.shape = shapes[l];
    const double rows = static_cast<double>(shapes[l].rows);
    const double cols = static_cast<double>(shapes[l].cols);
    layer.cost = LayerPartition::svd_cost(shapes[l]);
    layer.bytes =
        8.0 * (rows * cols + (rows + cols + 1.0) * kept_triplets(shapes[l], policy.truncation));
    total_cost += layer.cost;
    if (shapes[l].blocks <= 1 && std::min(shapes[l].rows, shapes[l].cols) >= scalapack_min_dim)
      layer.engine = SvdEngine::Scalapack;
  }
  for (LayerExecution& layer : plan.layers)
    if (layer.engine == SvdEngine::Lapack && splits(layer, total_cost, plan)) {
      layer.engine = SvdEngine::Scalapack;
      layer.split = true;
    }
  plan_grid_teams(plan, pairs);
  // A split layer on a team of one rank would run its QR on a 1 x 1 grid and its core on the
  // same rank: only slower than LAPACK's SVD of the whole layer there. It becomes a LAPACK layer
  // again and the teams are planned without it, until no split layer is alone.
  for (bool unsplit = true; unsplit;) {
    unsplit = false;
    for (LayerExecution& layer : plan.layers)
      if (layer.split && layer.grid.size() == 1) {
        layer = LayerExecution{layer.shape, layer.cost, layer.bytes};  // LAPACK, no team
        unsplit = true;
      }
    if (unsplit) plan_grid_teams(plan, pairs);
  }
  // LPT over the small layers only, in layer order (ties: lower layer index first), on top of
  // the split layers' loads, so that a plan without large layers is exactly the LayerPartition
  // of all layers.
  std::vector<LayerShape> small;
  std::vector<std::size_t> small_index;  // small[k] is layer small_index[k]
  for (std::size_t l = 0; l < shapes.size(); ++l)
    if (plan.layers[l].engine == SvdEngine::Lapack) {
      small.push_back(shapes[l]);
      small_index.push_back(l);
    }
  std::vector<double> initial_load(static_cast<std::size_t>(ranks));
  for (int r = 0; r < ranks; ++r) initial_load[static_cast<std::size_t>(r)] = plan.split_load_of(r);
  const LayerPartition partition(small, initial_load);
  for (std::size_t k = 0; k < small.size(); ++k)
    plan.layers[small_index[k]].rank = partition.owner(k);
  plan_pairs(plan, pairs);
  return plan;
}

ExecutionPlan plan_execution(const std::vector<LayerShape>& shapes, int ranks,
                             std::int64_t scalapack_min_dim, std::int64_t block_size,
                             const GridPolicy& policy) {
  std::vector<PairLayers> chain;
  for (std::size_t l = 0; l + 1 < shapes.size(); ++l)
    chain.push_back({static_cast<int>(l), static_cast<int>(l + 1)});
  return plan_execution(shapes, chain, ranks, scalapack_min_dim, block_size, policy);
}

std::string describe_split(LayerShape shape, int core_rank) {
  if (!split_reduces_first(shape))
    return "split: bidiagonal form on the grid, its SVD by LAPACK on rank " +
           std::to_string(core_rank);
  return std::string("split: ") + (shape.rows >= shape.cols ? "QR" : "LQ") +
         " on the grid, the core by LAPACK on rank " + std::to_string(core_rank);
}

std::string describe_plan(const ExecutionPlan& plan, const std::vector<std::string>& names,
                          const std::vector<std::string>& pair_labels) {
  const std::size_t n = plan.layers.size();
  std::vector<std::vector<std::string>> rows;
  for (std::size_t l = 0; l < n; ++l) {
    const LayerExecution& layer = plan.layers[l];
    std::string where;
    if (layer.engine == SvdEngine::Lapack) {
      where = "LAPACK on rank " + std::to_string(layer.rank);
    } else {
      where = "ScaLAPACK, team " + std::to_string(layer.team) + ": " + grid_text(plan, layer.team);
      if (layer.split) where += ", " + describe_split(layer.shape, layer.first_rank);
    }
    rows.push_back({std::to_string(l + 1) + "/" + std::to_string(n),
                    l < names.size() ? names[l] : "layer " + std::to_string(l),
                    std::to_string(layer.shape.rows) + "x" + std::to_string(layer.shape.cols),
                    "cost " + number("%.2g", layer.cost), number("%.3g", layer.bytes / 1e6) + " MB",
                    where});
  }
  std::vector<std::size_t> width(6, 0);
  for (const auto& row : rows)
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());

  std::string text = "plan: " + std::to_string(n) + " layers on " + std::to_string(plan.ranks) +
                     " rank(s); ScaLAPACK (block " + std::to_string(plan.block_size) +
                     ") for min(rows, cols) >= " + std::to_string(plan.scalapack_min_dim) +
                     "; cost = rows*cols*min(rows, cols), MB = M and its factors U, s, V";
  const Truncation& truncation = plan.policy.truncation;
  if (truncation.rank > 0)
    text += std::string(" of the ") + (truncation.bottom ? "bottom " : "top ") +
            std::to_string(truncation.rank) + " triplets (the truncated SVD's memory)";
  text += "\n";
  for (const auto& row : rows) {
    std::string line = " ";
    for (std::size_t c = 0; c < row.size(); ++c)
      line += " " + (c + 1 < row.size() ? padded(row[c], width[c]) : row[c]);
    text += line + "\n";
  }
  const bool any_split = std::any_of(plan.layers.begin(), plan.layers.end(),
                                     [](const LayerExecution& layer) { return layer.split; });
  if (any_split)
    text += "split over a team: a layer with min(rows, cols) >= " +
            std::to_string(plan.policy.split_min_dim) +
            " and more than the average cost per rank (QR or LQ first when its long side is at "
            "least twice the short one, else the bidiagonal form)\n";
  text += "LAPACK load per rank:";
  for (int r = 0; r < plan.ranks; ++r) {
    text += (r ? ", " : " ") + std::string("rank ") + std::to_string(r) + " " +
            number("%.2g", plan.lapack_load_of(r));
    if (plan.split_load_of(r) > 0.0)
      text += " (+ " + number("%.2g", plan.split_load_of(r)) + " of split layers)";
  }
  const std::size_t large = plan.scalapack_layers().size();
  text += "; then " + std::to_string(large) + " ScaLAPACK layer(s) on " +
          std::to_string(plan.teams.size()) + " concurrent team(s)";
  if (plan.teams.size() > 1)
    text += plan.teams_in_runs ? " of consecutive layers" : " dealt the layers by cost";
  text += ", each in layer order";
  text += plan.policy.memory_per_rank_bytes > 0.0
              ? " (budget " + mib(plan.policy.memory_per_rank_bytes) + " per rank)\n"
              : " (no memory budget)\n";
  for (std::size_t t = 0; t < plan.teams.size(); ++t) {
    const GridTeam& team = plan.teams[t];
    text += "  team " + std::to_string(t) + ": " + grid_text(plan, static_cast<int>(t)) +
            ", layers";
    for (std::size_t l : team.layers) text += " " + std::to_string(l + 1);
    text +=
        ", cost " + number("%.2g", team.cost) + ", about " + mib(team.bytes_per_rank) + " per rank";
    // A layer the truncated method gives up on falls back to the full SVD, which needs more.
    double fallback = team.bytes_per_rank;
    for (std::size_t l : team.layers)
      fallback = std::max(fallback, full_svd_bytes_per_rank(plan, l));
    if (fallback > team.bytes_per_rank)
      text += " (" + mib(fallback) + " if a layer falls back to the full SVD)";
    text += "\n";
  }
  if (!plan.budget_warning.empty()) text += "warning: " + plan.budget_warning + "\n";
  for (std::size_t l = 0; l < plan.pairs.size(); ++l) {
    const PairExecution& pair = plan.pairs[l];
    text += "  pair " + std::to_string(l + 1) + "/" + std::to_string(plan.pairs.size()) +
            (l < pair_labels.size() ? "  " + pair_labels[l] : std::string()) + "  E " +
            number("%.0f", rank_of(plan.layers[static_cast<std::size_t>(pair.to)].shape)) + "x" +
            number("%.0f", rank_of(plan.layers[static_cast<std::size_t>(pair.from)].shape)) +
            " on rank " +
            std::to_string(pair.owner);
    if (pair.distributed && pair.team >= 0) {
      text += " (ScaLAPACK grid of team " + std::to_string(pair.team) + ")\n";
    } else if (pair.distributed) {
      text += " (ScaLAPACK grid)\n";
    } else if (pair.sender < 0) {
      text += " (LAPACK; both factors local)\n";
    } else {
      const int layer = pair.sends_u ? pair.from : pair.to;
      text += " (LAPACK; " + std::string(pair.sends_u ? "U" : "V") + " of layer " +
              std::to_string(layer + 1) + " from rank " + std::to_string(pair.sender) + ")\n";
    }
  }
  return text;
}

}  // namespace svr
