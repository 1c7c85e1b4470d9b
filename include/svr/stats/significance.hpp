#pragma once
// Significance of the edges of every pair (spec section 4): the null law of each pair, raw
// log10 p-values, the multiple-testing correction over the chosen family, and the edges to report.
// Split in two so that E never has to leave the rank that holds it: a per-pair local part on
// the pair's owner (null law, p-values, the candidate edges that can be significant) and a
// global part on rank 0 (the correction over the family from the candidates and family sizes).
#include <Eigen/Dense>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <tuple>
#include <vector>

#include "svr/core/matrix_convention.hpp"
#include "svr/core/results.hpp"
#include "svr/stats/corrections.hpp"
#include "svr/stats/pvalues.hpp"

namespace svr {

// How edges are tested (spec section 4; docs/options.md).
struct SignificanceOptions {
  Method method = Method::Svr;  // the tested side: v for svr, u for cosvr
  double alpha = 0.05;          // level of the corrected test
  Correction correction = Correction::BH;
  FdrScope fdr_scope = FdrScope::Network;
  std::optional<double> sigma;  // chi-square compatibility rule; implies Correction::None
  bool all_edges = false;       // report every edge, not only the significant ones
  std::int64_t simulation_draws = 1000000;  // the simulated null law (cosvr, conv -> linear)
  std::uint64_t seed = 20230216;            // simulations are reproducible
};

// The edges of one pair that take part in the correction and may be reported, column-major
// (from_neuron outer, to_neuron inner) like E: every edge with --all-edges, otherwise the edges
// that can be significant (p <= alpha; with --sigma the edges past its rule). Untestable pairs
// have none unless --all-edges; an untestable edge of a testable pair (||u_S|| = 0, spec section
// 7) likewise, marked in `untestable` (empty: every candidate is testable).
struct EdgeCandidates {
  std::vector<std::int64_t> to_neuron, from_neuron;
  std::vector<double> e, log10_p;
  std::vector<char> untestable;
  std::vector<double> statistic;  // what the null applies to, E / ||u_S||^2; empty: e itself
  std::size_t size() const { return e.size(); }
  bool testable(std::size_t k) const { return untestable.empty() || !untestable[k]; }
  double x(std::size_t k) const { return statistic.empty() ? e[k] : statistic[k]; }
};

// Simulated null laws already drawn, one per distinct (c, z_u, z_v): shared by every pair of
// that geometry on this rank.
class NullLawCache {
 public:
  const SimulatedNull& simulated(const PairResult& pair, const SignificanceOptions& options);

 private:
  std::map<std::tuple<std::int64_t, std::int64_t, std::int64_t>, std::unique_ptr<SimulatedNull>>
      simulations_;
};

// What a pair of a graph divides its E by before the null law (spec section 7, network_plan.hpp
// PairNull): norm2(h, i) = the squared norm of producer neuron i over the channels it sends to
// consumer group h, h = group_of_to[j] for consumer neuron j (empty: h = 0).
struct EdgeNormalisers {
  Eigen::MatrixXd norm2;         // groups x r(from)
  std::vector<int> group_of_to;  // r(to) entries, or empty
  bool divide = true;            // false: the law applies to E; norm2 only finds untestable edges
};

// Local part, where E is: fills z, null_kind, beta_a/b, e_threshold, simulation_draws and
// edges_tested of `pair` (from its c, z_u, z_v, or null_c and null_z when set; the tested side
// is v for svr, u for cosvr) and returns its candidate edges with their raw log10 p. With
// normalisers, the null law applies to E / norm2 (or E without `divide`), and an edge with
// norm2 = 0 is untestable (E is exactly 0; not counted in edges_tested).
EdgeCandidates test_pair(PairResult& pair, const Eigen::MatrixXd& E,
                         const SignificanceOptions& options, NullLawCache& null_laws,
                         const EdgeNormalisers* normalisers = nullptr);

// Global part: the adjusted q of every candidate over the family (--fdr-scope network: every
// tested edge of every pair; pair: each pair alone), from the candidates and each pair's
// edges_tested only. Fills significant and edges of every pair. candidates[l] belongs to pairs[l].
void report_edges(std::vector<PairResult>& pairs, const std::vector<EdgeCandidates>& candidates,
                  const SignificanceOptions& options);

// Both parts on one rank, from each pair's E.
void test_edges(std::vector<PairResult>& pairs, const SignificanceOptions& options);

}  // namespace svr
