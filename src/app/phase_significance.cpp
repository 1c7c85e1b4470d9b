#include "svr/app/phase_significance.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

#include "svr/app/distributed_correction.hpp"
#include "svr/app/progress.hpp"
#include "svr/core/fault_injection.hpp"
#include "svr/linalg/svd.hpp"
#include "svr/output/report_html.hpp"
#include "svr/stats/chains.hpp"
#include "svr/stats/measures.hpp"

namespace svr {
namespace {

// One pair's outcome as a flat list of doubles (integers up to 2^53 are exact): the scalars the
// owner filled, the intensities, the heatmap. Candidates travel separately as K x 4.
std::vector<double> pack(const PairResult& pair, const PairOutcome& outcome) {
  std::vector<double> v = {static_cast<double>(pair.z),
                           static_cast<double>(static_cast<int>(pair.null_kind)),
                           pair.beta_a,
                           pair.beta_b,
                           pair.e_threshold,
                           static_cast<double>(pair.simulation_draws),
                           static_cast<double>(pair.edges_tested),
                           static_cast<double>(pair.internal_dim_to),
                           static_cast<double>(pair.internal_dim_from),
                           pair.entropy,
                           pair.entropy_normalized,
                           static_cast<double>(pair.significant),
                           static_cast<double>(pair.unheld_edges),
                           static_cast<double>(outcome.intensity.size())};
  v.insert(v.end(), outcome.intensity.begin(), outcome.intensity.end());
  const EdgeHeatmap& map = pair.heatmap;
  for (double x :
       {static_cast<double>(map.rows), static_cast<double>(map.cols), static_cast<double>(map.by),
        static_cast<double>(map.bx), static_cast<double>(map.h), static_cast<double>(map.w),
        map.e_max, static_cast<double>(map.cells.size())})
    v.push_back(x);
  v.insert(v.end(), map.cells.begin(), map.cells.end());
  return v;
}

void unpack(const Eigen::MatrixXd& message, PairResult& pair, PairOutcome& outcome) {
  const double* v = message.data();
  const std::size_t size = static_cast<std::size_t>(message.size());
  std::size_t k = 0;
  auto next = [&]() {
    if (k >= size) throw std::runtime_error("pair outcome message too short (internal error)");
    return v[k++];
  };
  auto next_int = [&]() { return static_cast<std::int64_t>(next()); };
  pair.z = next_int();
  pair.null_kind = static_cast<NullKind>(next_int());
  pair.beta_a = next();
  pair.beta_b = next();
  pair.e_threshold = next();
  pair.simulation_draws = next_int();
  pair.edges_tested = next_int();
  pair.internal_dim_to = next_int();
  pair.internal_dim_from = next_int();
  pair.entropy = next();
  pair.entropy_normalized = next();
  pair.significant = next_int();
  pair.unheld_edges = next_int();
  outcome.intensity.resize(static_cast<std::size_t>(next_int()));
  for (double& x : outcome.intensity) x = next();
  EdgeHeatmap& map = pair.heatmap;
  map.rows = next_int();
  map.cols = next_int();
  map.by = next_int();
  map.bx = next_int();
  map.h = next_int();
  map.w = next_int();
  map.e_max = next();
  map.cells.resize(static_cast<std::size_t>(next_int()));
  for (std::uint8_t& cell : map.cells) cell = static_cast<std::uint8_t>(next());
  if (k != size) throw std::runtime_error("pair outcome message too long (internal error)");
}

// The candidates as K x 6: to, from, e, log10 p, untestable (0/1), the statistic the null law
// applies to (E / ||u_S||^2, or e).
Eigen::MatrixXd pack_candidates(const EdgeCandidates& c) {
  Eigen::MatrixXd m(static_cast<Eigen::Index>(c.size()), 6);
  for (std::size_t k = 0; k < c.size(); ++k) {
    const auto row = static_cast<Eigen::Index>(k);
    m(row, 0) = static_cast<double>(c.to_neuron[k]);
    m(row, 1) = static_cast<double>(c.from_neuron[k]);
    m(row, 2) = c.e[k];
    m(row, 3) = c.log10_p[k];
    m(row, 4) = c.testable(k) ? 0.0 : 1.0;
    m(row, 5) = c.x(k);
  }
  return m;
}

EdgeCandidates unpack_candidates(const Eigen::MatrixXd& m) {
  if (m.size() > 0 && m.cols() != 6)
    throw std::runtime_error("candidate edges message of the wrong shape (internal error)");
  EdgeCandidates c;
  bool any_untestable = false, any_scaled = false;
  for (Eigen::Index row = 0; row < m.rows(); ++row) {
    c.to_neuron.push_back(static_cast<std::int64_t>(m(row, 0)));
    c.from_neuron.push_back(static_cast<std::int64_t>(m(row, 1)));
    c.e.push_back(m(row, 2));
    c.log10_p.push_back(m(row, 3));
    c.untestable.push_back(m(row, 4) != 0.0 ? 1 : 0);
    c.statistic.push_back(m(row, 5));
    any_untestable = any_untestable || m(row, 4) != 0.0;
    any_scaled = any_scaled || m(row, 5) != m(row, 2);
  }
  if (!any_untestable) c.untestable.clear();
  if (!any_scaled) c.statistic.clear();
  return c;
}

// Final edges as K x 7: to, from, e, log10 p, log10 q, testable (0/1), significant (0/1).
Eigen::MatrixXd pack_edges(const std::vector<EdgeRecord>& edges) {
  Eigen::MatrixXd m(static_cast<Eigen::Index>(edges.size()), 7);
  for (std::size_t k = 0; k < edges.size(); ++k) {
    const auto row = static_cast<Eigen::Index>(k);
    const EdgeRecord& edge = edges[k];
    m.row(row) << static_cast<double>(edge.to_neuron), static_cast<double>(edge.from_neuron),
        edge.e, edge.log10_p, edge.log10_q, edge.testable ? 1.0 : 0.0, edge.significant ? 1.0 : 0.0;
  }
  return m;
}

std::vector<EdgeRecord> unpack_edges(const Eigen::MatrixXd& m) {
  if (m.size() > 0 && m.cols() != 7)
    throw std::runtime_error("final edges message of the wrong shape (internal error)");
  std::vector<EdgeRecord> edges(static_cast<std::size_t>(m.rows()));
  for (Eigen::Index row = 0; row < m.rows(); ++row) {
    EdgeRecord& edge = edges[static_cast<std::size_t>(row)];
    edge.to_neuron = static_cast<std::int64_t>(m(row, 0));
    edge.from_neuron = static_cast<std::int64_t>(m(row, 1));
    edge.e = m(row, 2);
    edge.log10_p = m(row, 3);
    edge.log10_q = m(row, 4);
    edge.testable = m(row, 5) != 0.0;
    edge.significant = m(row, 6) != 0.0;
  }
  return edges;
}

}  // namespace

std::vector<PairOutcome> reduce_owned_pairs(std::vector<PairResult>& pairs,
                                            const std::vector<LayerResult>& layers,
                                            const EdgeWeights& E,
                                            const ExecutionPlan& execution, const Options& options,
                                            int rank) {
  std::vector<PairOutcome> outcomes(pairs.size());
  NullLawCache null_laws;
  for (std::size_t l : execution.pairs_of(rank)) {
    PairResult& pair = pairs[l];
    const Eigen::MatrixXd& e = E.E[l];
    std::optional<EdgeNormalisers> normalisers;
    if (E.u_norm2[l].size() > 0) {
      normalisers = EdgeNormalisers{E.u_norm2[l], layers[static_cast<std::size_t>(pair.to_layer)].group,
                                    pair.scaled};
      if (layers[static_cast<std::size_t>(pair.to_layer)].groups <= 1) normalisers->group_of_to.clear();
    }
    outcomes[l].candidates = screen_pair(pair, e, options.significance, null_laws,
                                         normalisers ? &*normalisers : nullptr);
    outcomes[l].intensity = intensity(e, pair.c);
    const InternalDims dims = internal_dims(e, pair.c);
    pair.internal_dim_to = dims.to;
    pair.internal_dim_from = dims.from;
    const Entropy h = entropy(e);
    pair.entropy = h.h;
    pair.entropy_normalized = h.normalized;
    if (options.plot) pair.heatmap = edge_heatmap(e);
  }
  return outcomes;
}

void narrow_owned_candidates(const std::vector<PairResult>& pairs,
                             std::vector<PairOutcome>& outcomes, const ExecutionPlan& execution,
                             const Options& options, const mpi::Communicator& comm) {
  std::vector<EdgeCandidates> candidates(pairs.size());
  const std::vector<std::size_t> owned = execution.pairs_of(comm.rank());
  for (std::size_t l : owned) candidates[l] = std::move(outcomes[l].candidates);
  // Each count is its own agreed step before the sum, so that a rank failing in it leaves no
  // other waiting in the reduction.
  const FamilySum sum = [&](const std::function<std::int64_t()>& local) {
    std::int64_t count = 0;
    mpi::agreed(comm, [&] { count = local(); });
    return comm.sum(count);
  };
  // An error agreed inside is thrown on every rank and ends the phase; the caller's agreement
  // covers the rest.
  narrow_candidates(pairs, candidates, owned, options.significance, sum);
  for (std::size_t l : owned) outcomes[l].candidates = std::move(candidates[l]);
}

OwnedEdges finish_owned_edges(std::vector<PairResult>& pairs, std::vector<PairOutcome>& outcomes,
                              const ExecutionPlan& execution, const Options& options,
                              const mpi::Communicator& comm) {
  const SignificanceOptions& o = options.significance;
  if (!o.all_edges) throw std::invalid_argument("finish_owned_edges: only with --all-edges");
  const std::vector<std::size_t> owned = execution.pairs_of(comm.rank());
  auto testable = [&](std::size_t l) { return pairs[l].null_kind != NullKind::Untestable; };
  std::vector<std::vector<double>> log10_q(pairs.size());
  if (o.fdr_scope == FdrScope::Pair) {
    for (std::size_t l : owned)
      if (testable(l))
        log10_q[l] = adjust_log10_candidates(tested_log10_p(outcomes[l].candidates),
                                             pairs[l].edges_tested, o.correction);
  } else {
    // This rank's members of the family, pair after pair, and the family's size.
    std::vector<double> members;
    std::vector<std::size_t> members_of(pairs.size(), 0);
    std::int64_t tested = 0;
    for (std::size_t l : owned) {
      if (!testable(l)) continue;
      const std::vector<double> p = tested_log10_p(outcomes[l].candidates);
      members.insert(members.end(), p.begin(), p.end());
      members_of[l] = p.size();
      tested += pairs[l].edges_tested;
    }
    const std::vector<double> adjusted =
        adjust_log10_across(comm, members, comm.sum(tested), o.correction);
    auto next = adjusted.begin();
    for (std::size_t l : owned) {
      const auto k = static_cast<std::ptrdiff_t>(members_of[l]);
      log10_q[l].assign(next, next + k);
      next += k;
    }
  }
  OwnedEdges all(pairs.size());
  for (std::size_t l : owned) {
    all[l] = final_edges(pairs[l], outcomes[l].candidates, log10_q[l], o);
    outcomes[l].candidates = EdgeCandidates{};
    std::vector<EdgeRecord>& significant = outcomes[l].edges;
    significant.clear();
    for (const EdgeRecord& edge : all[l])
      if (edge.significant) significant.push_back(edge);
    pairs[l].unheld_edges = static_cast<std::int64_t>(all[l].size() - significant.size());
  }
  return all;
}

void gather_outcomes_to_root(std::vector<PairResult>& pairs, std::vector<PairOutcome>& outcomes,
                             const ExecutionPlan& execution, const mpi::Communicator& comm) {
  // Rank 0 keeps receiving after a bad message, so that no owner is left blocked in a send; the
  // first problem is thrown at the end (and agreed by the caller's collective phase).
  std::string error;
  for (std::size_t l = 0; l < pairs.size(); ++l) {
    const int owner = execution.pairs[l].owner;
    if (owner == 0) continue;
    const int tag = static_cast<int>(l % 30000);
    if (comm.rank() == owner) {
      const std::vector<double> v = pack(pairs[l], outcomes[l]);
      const Eigen::MatrixXd message =
          Eigen::Map<const Eigen::MatrixXd>(v.data(), static_cast<Eigen::Index>(v.size()), 1);
      comm.send(message, 0, tag);
      comm.send(pack_candidates(outcomes[l].candidates), 0, tag);
      comm.send(pack_edges(outcomes[l].edges), 0, tag);
      outcomes[l] = PairOutcome{};  // rank 0 has it now
    } else if (comm.is_root()) {
      const Eigen::MatrixXd message = comm.receive(owner, tag);
      const Eigen::MatrixXd candidates = comm.receive(owner, tag);
      const Eigen::MatrixXd edges = comm.receive(owner, tag);
      try {
        unpack(message, pairs[l], outcomes[l]);
        outcomes[l].candidates = unpack_candidates(candidates);
        outcomes[l].edges = unpack_edges(edges);
      } catch (const std::exception& e) {
        if (error.empty()) error = "pair " + std::to_string(l) + ": " + e.what();
      }
    }
  }
  if (!error.empty()) throw std::runtime_error(error);
}

void finish_reduction(SvrResult& result, std::vector<PairOutcome>& outcomes,
                      const Options& options) {
  if (options.significance.all_edges) {
    // Final on the owners (finish_owned_edges), which write every edge into edges.csv.
    for (std::size_t l = 0; l < result.pairs.size(); ++l)
      result.pairs[l].edges = std::move(outcomes[l].edges);
  } else {
    std::vector<EdgeCandidates> candidates;
    for (PairOutcome& outcome : outcomes) candidates.push_back(std::move(outcome.candidates));
    report_edges(result.pairs, candidates, options.significance);
  }

  for (std::size_t l = 0; l < result.pairs.size(); ++l)
    result.pairs[l].intensity = std::move(outcomes[l].intensity);
  for (std::size_t l = 0; l < result.layers.size(); ++l) {
    LayerResult& layer = result.layers[l];
    // Relative to the layer's largest value, also when only its bottom ones are kept.
    const double s_max = layer.largest_singular_value();
    layer.cluster =
        clusters(layer.sigma,
                 cluster_tolerance(layer.svd.precision == "single" ? SvdPrecision::Single
                                                                   : SvdPrecision::Double),
                 s_max);
    layer.near_kernel = near_kernel(layer.sigma, options.measures.near_kernel_tau, s_max);
    // The largest over the pairs the layer is the producer of (spec section 7); a layer that
    // no layer reads gets 1 for every neuron (spec section 5).
    layer.intensity.clear();
    for (const PairResult& pair : result.pairs) {
      if (pair.from_layer != static_cast<int>(l)) continue;
      if (layer.intensity.empty()) {
        layer.intensity = pair.intensity;
      } else {
        for (std::size_t i = 0; i < layer.intensity.size() && i < pair.intensity.size(); ++i)
          layer.intensity[i] = std::max(layer.intensity[i], pair.intensity[i]);
      }
    }
    if (layer.intensity.empty()) layer.intensity.assign(layer.sigma.size(), 1.0);
  }

  std::vector<std::int64_t> sizes;
  for (const LayerResult& layer : result.layers) sizes.push_back(layer.sigma.size());
  std::vector<std::vector<SignificantEdge>> significant(result.pairs.size());
  for (std::size_t l = 0; l < result.pairs.size(); ++l)
    for (const EdgeRecord& edge : result.pairs[l].edges)
      if (edge.significant)
        significant[l].push_back({edge.to_neuron, edge.from_neuron, edge.log10_p});
  std::vector<std::pair<int, int>> pairs;
  for (const PairResult& pair : result.pairs) pairs.emplace_back(pair.from_layer, pair.to_layer);
  result.chains = top_chains(sizes, pairs, significant, options.measures.top_chains);
}

namespace {

std::string format_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

}  // namespace

OwnedEdges significance_phase(const EdgeWeights& E, const ExecutionPlan& execution,
                              const Options& options, const mpi::Communicator& comm,
                              SvrResult& result, const Progress& progress) {
  std::vector<PairOutcome> outcomes;
  mpi::agreed(comm, [&] {
    inject_failure_point("significance", comm.rank());
    outcomes = reduce_owned_pairs(result.pairs, result.layers, E, execution, options, comm.rank());
  });
  mpi::agreed(comm, [&] {
    narrow_owned_candidates(result.pairs, outcomes, execution, options, comm);
  });
  OwnedEdges owned_edges;
  if (options.significance.all_edges)
    mpi::agreed(comm, [&] {
      owned_edges = finish_owned_edges(result.pairs, outcomes, execution, options, comm);
    });
  mpi::agreed(comm, [&] {
    gather_outcomes_to_root(result.pairs, outcomes, execution, comm);
    inject_failure_point("gather", comm.rank());
  });
  mpi::agreed(comm, [&] {
    if (!comm.is_root()) return;
    finish_reduction(result, outcomes, options);
    std::int64_t tested = 0, significant = 0;
    for (const PairResult& pair : result.pairs) {
      tested += pair.edges_tested;
      significant += pair.significant;
    }
    progress.say("significance: " + std::to_string(significant) + " of " + std::to_string(tested) +
                 " edges significant (" + to_string(options.significance.correction) + ", alpha " +
                 format_number(options.significance.alpha) + ")");
  });
  return owned_edges;
}

}  // namespace svr
