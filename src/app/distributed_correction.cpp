#include "svr/app/distributed_correction.hpp"

#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "svr/parallel/distributed_sort.hpp"

namespace svr {

std::vector<double> adjust_log10_across(const mpi::Communicator& comm,
                                        const std::vector<double>& log10_p,
                                        std::int64_t family_size, Correction correction) {
  std::int64_t bad = 0;
  for (double v : log10_p) bad += std::isnan(v) || v > 0.0 ? 1 : 0;
  const std::int64_t bad_total = comm.sum(bad);
  const std::int64_t values = comm.sum(static_cast<std::int64_t>(log10_p.size()));
  if (bad_total > 0)
    throw std::invalid_argument("adjust_log10_across: " + std::to_string(bad_total) +
                                " log10 p are NaN or above 0");
  if (values > family_size)
    throw std::invalid_argument("adjust_log10_across: family of " + std::to_string(family_size) +
                                " values but " + std::to_string(values) + " candidates");
  if (correction == Correction::None || correction == Correction::Bonferroni)
    return adjust_log10_candidates(log10_p, family_size, correction);

  const mpi::SortedSlice slice = mpi::sort_across(comm, log10_p);
  std::vector<double> terms = sorted_slice_terms(slice.keys, slice.first, family_size, correction);
  // What each slice passes on, gathered from every slice: a step-up correction takes the
  // smallest term of the slices after it, a step-down one the largest of those before.
  const double extreme = sorted_slice_extreme(terms, correction);
  std::vector<double> extremes(static_cast<std::size_t>(comm.size()));
  mpi::check(MPI_Allgather(&extreme, 1, MPI_DOUBLE, extremes.data(), 1, MPI_DOUBLE, comm.get()),
             "MPI_Allgather");
  const auto mine = extremes.begin() + comm.rank();
  const std::vector<double> others = is_step_up(correction)
                                         ? std::vector<double>(mine + 1, extremes.end())
                                         : std::vector<double>(extremes.begin(), mine);
  const std::vector<double> adjusted =
      finish_sorted_slice(std::move(terms), correction, sorted_slice_extreme(others, correction));
  return mpi::return_to_origins(comm, slice, adjusted);
}

}  // namespace svr
