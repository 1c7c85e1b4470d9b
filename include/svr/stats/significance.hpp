#pragma once
// Significance of the edges of every pair (spec section 4): the null law of each pair, raw
// log10 p-values, the multiple-testing correction over the chosen family, and the edges to report.
// Split in two so that E never has to leave the rank that holds it: a per-pair local part on
// the pair's owner (null law, p-values, the candidate edges that can be significant) and a
// global part on rank 0 (the correction over the family from the candidates and family sizes).
#include <Eigen/Dense>
#include <cmath>
#include <cstdint>
#include <functional>
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
  std::vector<double> e, log10_p;  // log10_p NaN: deferred (screen_pair), not computed yet
  std::vector<char> untestable;
  std::vector<double> statistic;  // what the null applies to, E / ||u_S||^2; empty: e itself
  std::size_t size() const { return e.size(); }
  bool testable(std::size_t k) const { return untestable.empty() || !untestable[k]; }
  double x(std::size_t k) const { return statistic.empty() ? e[k] : statistic[k]; }
  bool deferred(std::size_t k) const { return std::isnan(log10_p[k]); }
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

// test_pair without the exact p where it may not be needed: under a Beta law (not with
// --all-edges or --sigma), a candidate is every edge whose statistic reaches the alpha-quantile
// of the null (less a 1e-6 relative margin), with its log10 p deferred (NaN). narrow_candidates
// then keeps those that can still be significant and computes their exact p.
EdgeCandidates screen_pair(PairResult& pair, const Eigen::MatrixXd& E,
                           const SignificanceOptions& options, NullLawCache& null_laws,
                           const EdgeNormalisers* normalisers = nullptr);

// How many of a screened pair's candidates may have p <= level: an exact p is compared, a
// deferred one is counted when its statistic reaches the level's quantile (less the margin), so
// the count is never below the true one.
std::int64_t count_within(const PairResult& pair, const EdgeCandidates& candidates, double level);

// Keeps the candidates with p <= level, computing the exact log10 p of the deferred ones first
// (only those whose statistic reaches the level's quantile less the margin). Level 0 keeps those
// with p = 0 only.
void finish_candidates(const PairResult& pair, EdgeCandidates& candidates, double level);

// Sums a count over the family's processes: `local` is this process's count. On one process it
// is local(); across ranks, an agreed step then a sum (phase_significance.cpp).
using FamilySum = std::function<std::int64_t(const std::function<std::int64_t()>& local)>;

// Between the two parts: the candidates of screen_pair made final. With --all-edges or --sigma
// every candidate is already final. Otherwise (docs/algorithms.md, "Exact p-values only where
// they matter") the level of the correction's fixed point (corrections.hpp narrowed_level) over
// the family (--fdr-scope network: every tested edge of every pair, counted through `sum`; pair:
// each pair alone), then finish_candidates at that level. Only the pairs in `owned` are read
// (their candidates and edges_tested); `sum` is called the same number of times on every process.
void narrow_candidates(const std::vector<PairResult>& pairs,
                       std::vector<EdgeCandidates>& candidates,
                       const std::vector<std::size_t>& owned, const SignificanceOptions& options,
                       const FamilySum& sum);

// Global part: the adjusted q of every candidate over the family (--fdr-scope network: every
// tested edge of every pair; pair: each pair alone), from the candidates and each pair's
// edges_tested only. Fills significant and edges of every pair. candidates[l] belongs to pairs[l].
void report_edges(std::vector<PairResult>& pairs, const std::vector<EdgeCandidates>& candidates,
                  const SignificanceOptions& options);

// The log10 p of a pair's testable candidates, in order: the pair's members of the family.
std::vector<double> tested_log10_p(const EdgeCandidates& candidates);

// The last step of report_edges for one pair, once its tested candidates' adjusted log10 q are
// known (`log10_q`: one per testable candidate, in order; none for an untestable pair): the edge
// records, each significant or not, and pair.significant. Returns every candidate with
// --all-edges, otherwise the significant ones. Used alone where the q were computed elsewhere
// (--all-edges, each pair's owner: app/distributed_correction.hpp).
std::vector<EdgeRecord> final_edges(PairResult& pair, const EdgeCandidates& candidates,
                                    const std::vector<double>& log10_q,
                                    const SignificanceOptions& options);

// Both parts on one rank, from each pair's E (screen_pair, narrow_candidates, report_edges).
void test_edges(std::vector<PairResult>& pairs, const SignificanceOptions& options);

}  // namespace svr
