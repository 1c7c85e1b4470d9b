#pragma once
// A sort of values spread over the ranks of a communicator, for the work that needs the global
// order of more values than one rank should hold (the multiple-testing correction of every edge
// with --all-edges: app/distributed_correction.hpp). A sample sort: each rank sorts its own
// values, a few regular samples of every rank choose the splitters, one all-to-all exchange
// moves each value to the rank of its range. Then each rank holds one consecutive slice of the
// sorted sequence, and knows where every value of its slice came from, so that results computed
// on the slice can go back to their origin.
#include <cstdint>
#include <vector>

#include "svr/parallel/mpi.hpp"

namespace svr::mpi {

// This rank's part of the ascending sort of every rank's keys. Ties are ordered by origin rank,
// then by index, so the order is total and the same at every process count for the same keys
// in the same places.
struct SortedSlice {
  std::vector<double> keys;
  std::vector<int> origin_rank;            // the rank that holds the key
  std::vector<std::int64_t> origin_index;  // its index there
  std::int64_t first = 0;                  // the sorted position of keys[0] (0-based)
  std::int64_t total = 0;                  // how many keys all ranks hold together
  std::vector<std::int64_t> sent_to;       // how many of this rank's keys went to each rank
};

// Collective over `comm`. NaN keys throw std::invalid_argument before any communication.
// Slices are balanced to within a few times total / size, whatever the keys' distribution;
// an all-to-all count above int (2^31 values between two ranks) throws svr::Error.
SortedSlice sort_across(const Communicator& comm, const std::vector<double>& keys);

// Collective: values[i] computed for slice.keys[i] returned to where that key came from; the
// result has one value per key this rank passed to sort_across, in its order.
std::vector<double> return_to_origins(const Communicator& comm, const SortedSlice& slice,
                                      const std::vector<double>& values);

}  // namespace svr::mpi
