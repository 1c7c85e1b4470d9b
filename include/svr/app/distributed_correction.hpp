#pragma once
// The multiple-testing correction over a family whose p-values are spread over the ranks (every
// edge with --all-edges: each pair's owner holds its edges, and no rank should hold them all).
// BH, BY and Holm need each value's rank in the whole family: the values are sorted across the
// ranks (parallel/distributed_sort.hpp), each rank adjusts its slice of the sorted sequence
// with one value from the other slices (stats/corrections.hpp adjust_log10_sorted_slice), and
// the adjusted values go back to where their p came from. Bonferroni and None are local.
#include <cstdint>
#include <vector>

#include "svr/parallel/mpi.hpp"
#include "svr/stats/corrections.hpp"

namespace svr {

// Collective: the adjusted log10 q of this rank's `log10_p` (same order) over the family of
// `family_size` members whose candidates are every rank's values together; bit for bit
// adjust_log10_candidates of all ranks' values concatenated in rank order. A NaN or positive
// log10 p on any rank, or more values than family_size, throws std::invalid_argument on every
// rank.
std::vector<double> adjust_log10_across(const mpi::Communicator& comm,
                                        const std::vector<double>& log10_p,
                                        std::int64_t family_size, Correction correction);

}  // namespace svr
