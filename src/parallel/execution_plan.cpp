#include "svr/execution_plan.hpp"

#include <algorithm>
#include <cstdio>
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

double rank_of(const LayerShape& shape) {
  return static_cast<double>(std::min(shape.rows, shape.cols));
}

// Pair owners (see PairExecution). The E entries each rank holds are counted so that pairs on
// the grid go where the least E already is: E, its p-values and its reported edges are what
// the owner keeps in memory.
void plan_pairs(ExecutionPlan& plan) {
  const std::size_t n = plan.layers.size();
  std::vector<double> entries(static_cast<std::size_t>(plan.ranks), 0.0);
  for (std::size_t l = 0; l + 1 < n; ++l) {
    const LayerExecution& from = plan.layers[l];
    const LayerExecution& to = plan.layers[l + 1];
    PairExecution pair;
    pair.e_entries = rank_of(from.shape) * rank_of(to.shape);
    const bool from_lapack = from.engine == SvdEngine::Lapack;
    const bool to_lapack = to.engine == SvdEngine::Lapack;
    if (from_lapack && to_lapack) {
      pair.owner = to.rank;
      if (from.rank != to.rank) {
        // U_l is rows(l) x r(l), V_l+1 is cols(l+1) x r(l+1): move the smaller one.
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
        pair.owner =
            static_cast<int>(std::min_element(entries.begin(), entries.end()) - entries.begin());
      }
    }
    entries[static_cast<std::size_t>(pair.owner)] += pair.e_entries;
    plan.pairs.push_back(pair);
  }
}

}  // namespace

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

ExecutionPlan plan_execution(const std::vector<LayerShape>& shapes, int ranks,
                             std::int64_t scalapack_min_dim, std::int64_t block_size) {
  if (ranks < 1) throw std::invalid_argument("plan_execution: ranks must be >= 1");
  if (scalapack_min_dim < 1)
    throw std::invalid_argument("plan_execution: scalapack_min_dim must be >= 1");
  if (block_size < 1) throw std::invalid_argument("plan_execution: block_size must be >= 1");
  ExecutionPlan plan;
  plan.ranks = ranks;
  plan.scalapack_min_dim = scalapack_min_dim;
  plan.block_size = block_size;
  plan.layers.resize(shapes.size());
  std::vector<LayerShape> small;
  std::vector<std::size_t> small_index;  // small[k] is layer small_index[k]
  for (std::size_t l = 0; l < shapes.size(); ++l) {
    LayerExecution& layer = plan.layers[l];
    layer.shape = shapes[l];
    const double rows = static_cast<double>(shapes[l].rows);
    const double cols = static_cast<double>(shapes[l].cols);
    const double r = std::min(rows, cols);
    layer.cost = LayerPartition::svd_cost(shapes[l]);
    layer.bytes = 8.0 * (rows * cols + (rows + cols + 1.0) * r);
    if (std::min(shapes[l].rows, shapes[l].cols) >= scalapack_min_dim) {
      layer.engine = SvdEngine::Scalapack;
      layer.grid = near_square_shape(ranks);
    } else {
      small.push_back(shapes[l]);
      small_index.push_back(l);
    }
  }
  // LPT over the small layers only, in layer order (ties: lower layer index first), so that a
  // plan without large layers is exactly the LayerPartition of all layers.
  const LayerPartition partition(small, ranks);
  for (std::size_t k = 0; k < small.size(); ++k)
    plan.layers[small_index[k]].rank = partition.owner(k);
  plan_pairs(plan);
  return plan;
}

std::string describe_plan(const ExecutionPlan& plan, const std::vector<std::string>& names) {
  const std::size_t n = plan.layers.size();
  std::vector<std::vector<std::string>> rows;
  for (std::size_t l = 0; l < n; ++l) {
    const LayerExecution& layer = plan.layers[l];
    std::string where;
    if (layer.engine == SvdEngine::Lapack) {
      where = "LAPACK on rank " + std::to_string(layer.rank);
    } else {
      where = "ScaLAPACK on a " + std::to_string(layer.grid.rows) + "x" +
              std::to_string(layer.grid.cols) + " grid";
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
                     "; cost = rows*cols*min(rows, cols), MB = M and its factors U, s, V\n";
  for (const auto& row : rows) {
    std::string line = " ";
    for (std::size_t c = 0; c < row.size(); ++c)
      line += " " + (c + 1 < row.size() ? padded(row[c], width[c]) : row[c]);
    text += line + "\n";
  }
  text += "LAPACK load per rank:";
  for (int r = 0; r < plan.ranks; ++r)
    text += (r ? ", " : " ") + std::string("rank ") + std::to_string(r) + " " +
            number("%.2g", plan.lapack_load_of(r));
  const std::size_t large = plan.scalapack_layers().size();
  text += "; then " + std::to_string(large) + " ScaLAPACK layer(s) on all ranks, in layer order\n";
  for (std::size_t l = 0; l < plan.pairs.size(); ++l) {
    const PairExecution& pair = plan.pairs[l];
    text += "  pair " + std::to_string(l + 1) + "/" + std::to_string(plan.pairs.size()) + "  E " +
            number("%.0f", rank_of(plan.layers[l + 1].shape)) + "x" +
            number("%.0f", rank_of(plan.layers[l].shape)) + " on rank " +
            std::to_string(pair.owner);
    if (pair.distributed) {
      text += " (ScaLAPACK grid)\n";
    } else if (pair.sender < 0) {
      text += " (LAPACK; both factors local)\n";
    } else {
      const std::size_t layer = pair.sends_u ? l : l + 1;
      text += " (LAPACK; " + std::string(pair.sends_u ? "U" : "V") + " of layer " +
              std::to_string(layer + 1) + " from rank " + std::to_string(pair.sender) + ")\n";
    }
  }
  return text;
}

}  // namespace svr
