#pragma once
// Significance of the edges of every pair (spec section 4): the null law of each pair, raw
// log10 p-values, the multiple-testing correction over the chosen family, and the edges to report.
#include <vector>

#include "svr/options.hpp"
#include "svr/results.hpp"

namespace svr {

// Fills z, null_kind, beta_a/b, e_threshold, simulation_draws, edges_tested, significant and
// edges of every pair from its E, c, z_u and z_v. The tested side is v for svr, u for cosvr.
void test_edges(std::vector<PairResult>& pairs, const Options& options);

}  // namespace svr
