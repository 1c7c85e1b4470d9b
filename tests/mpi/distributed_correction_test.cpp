// The sort across ranks (src/parallel/distributed_sort.cpp) and the multiple-testing correction
// built on it (src/app/distributed_correction.cpp) against the serial ones, on values spread
// unevenly over the ranks (one rank empty, one holding most), with ties and p = 0.
#include "svr/app/distributed_correction.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <tuple>
#include <vector>

#include "mpi_test_support.hpp"
#include "svr/parallel/distributed_sort.hpp"
#include "svr/stats/corrections.hpp"

namespace {

using svr::Correction;
using svr_test::random_entry;
using svr_test::world_rank;
using svr_test::world_size;

// This rank's log10 p: rank 0 none (when there are others), the last rank most of them; every
// fifth value on a grid of 1/8 (ties within and across ranks), a few p = 0.
std::vector<double> local_log10_p(int rank, int size, std::int64_t scale) {
  std::int64_t count = 3 * scale + 37 * rank;
  if (size > 1 && rank == 0) count = 0;
  if (rank == size - 1) count += 10 * scale;
  std::vector<double> p(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) {
    double v = -8.0 * std::abs(random_entry(rank, i, 7));
    if (i % 5 == 0) v = std::round(v * 8.0) / 8.0;
    if (i % 97 == 3) v = -std::numeric_limits<double>::infinity();
    p[static_cast<std::size_t>(i)] = v;
  }
  return p;
}

// Every rank's values, in rank order, and where this rank's begin.
std::vector<double> all_values(const std::vector<double>& mine, std::size_t* my_offset) {
  const int size = world_size();
  const int count = static_cast<int>(mine.size());
  std::vector<int> counts(static_cast<std::size_t>(size)), displacements(counts.size());
  MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
  int total = 0;
  for (int r = 0; r < size; ++r) {
    displacements[static_cast<std::size_t>(r)] = total;
    total += counts[static_cast<std::size_t>(r)];
  }
  std::vector<double> all(static_cast<std::size_t>(total));
  MPI_Allgatherv(mine.data(), count, MPI_DOUBLE, all.data(), counts.data(), displacements.data(),
                 MPI_DOUBLE, MPI_COMM_WORLD);
  *my_offset = static_cast<std::size_t>(displacements[static_cast<std::size_t>(world_rank())]);
  return all;
}

TEST(SortAcross, EachRankHoldsItsSliceOfTheGlobalOrder) {
  svr::mpi::Communicator comm;
  const std::vector<double> mine = local_log10_p(comm.rank(), comm.size(), 400);
  std::size_t my_offset = 0;
  const std::vector<double> all = all_values(mine, &my_offset);
  // The reference order: by key, then origin rank, then index (rank-order concatenation).
  std::vector<std::tuple<double, int, std::int64_t>> expected;
  {
    std::size_t at = 0;
    for (int r = 0; r < comm.size(); ++r) {
      const std::size_t n = local_log10_p(r, comm.size(), 400).size();
      for (std::size_t i = 0; i < n; ++i)
        expected.emplace_back(all[at + i], r, static_cast<std::int64_t>(i));
      at += n;
    }
  }
  std::sort(expected.begin(), expected.end());

  const svr::mpi::SortedSlice slice = svr::mpi::sort_across(comm, mine);
  EXPECT_EQ(slice.total, static_cast<std::int64_t>(all.size()));
  ASSERT_LE(slice.first + static_cast<std::int64_t>(slice.keys.size()), slice.total);
  for (std::size_t i = 0; i < slice.keys.size(); ++i) {
    const auto& [key, rank, index] = expected[static_cast<std::size_t>(slice.first) + i];
    ASSERT_EQ(slice.keys[i], key) << "sorted position " << slice.first + i;
    ASSERT_EQ(slice.origin_rank[i], rank);
    ASSERT_EQ(slice.origin_index[i], index);
  }
  // The slices tile the sorted sequence.
  std::int64_t next_first = 0;
  const std::int64_t mine_count = static_cast<std::int64_t>(slice.keys.size());
  MPI_Exscan(&mine_count, &next_first, 1, MPI_INT64_T, MPI_SUM, comm.get());
  if (comm.rank() > 0) {
    EXPECT_EQ(slice.first, next_first);
  }
  EXPECT_EQ(comm.sum(mine_count), slice.total);

  // Values go back to their origin in the order they were given.
  std::vector<double> doubled(slice.keys.size());
  for (std::size_t i = 0; i < doubled.size(); ++i) doubled[i] = 2.0 * slice.keys[i];
  const std::vector<double> back = svr::mpi::return_to_origins(comm, slice, doubled);
  ASSERT_EQ(back.size(), mine.size());
  for (std::size_t i = 0; i < mine.size(); ++i) EXPECT_EQ(back[i], 2.0 * mine[i]);
}

TEST(SortAcross, SlicesStayBalancedWhenOneRankHoldsEverything) {
  svr::mpi::Communicator comm;
  const std::int64_t total = 12000;
  std::vector<double> mine;
  if (comm.rank() == comm.size() - 1)
    for (std::int64_t i = 0; i < total; ++i) mine.push_back(random_entry(i, 3, 11));
  const svr::mpi::SortedSlice slice = svr::mpi::sort_across(comm, mine);
  EXPECT_EQ(slice.total, total);
  // 16 weighted samples per rank: each cut is off by at most one sample's run, total / 16.
  EXPECT_LE(static_cast<std::int64_t>(slice.keys.size()), total / comm.size() + 2 * total / 16)
      << "rank " << comm.rank();
  EXPECT_TRUE(std::is_sorted(slice.keys.begin(), slice.keys.end()));
}

TEST(SortAcross, NothingAnywhereAndNanEverywhere) {
  svr::mpi::Communicator comm;
  const svr::mpi::SortedSlice empty = svr::mpi::sort_across(comm, {});
  EXPECT_EQ(empty.total, 0);
  EXPECT_TRUE(empty.keys.empty());
  EXPECT_TRUE(svr::mpi::return_to_origins(comm, empty, {}).empty());
  // A NaN on the last rank only: every rank throws, none is left in a collective.
  std::vector<double> keys = {1.0, 2.0};
  if (comm.rank() == comm.size() - 1) keys.push_back(std::nan(""));
  EXPECT_THROW(svr::mpi::sort_across(comm, keys), std::invalid_argument);
}

TEST(AdjustAcross, BitForBitTheSerialCorrection) {
  svr::mpi::Communicator comm;
  const std::vector<double> mine = local_log10_p(comm.rank(), comm.size(), 300);
  std::size_t my_offset = 0;
  const std::vector<double> all = all_values(mine, &my_offset);
  for (Correction correction : {Correction::BH, Correction::BY, Correction::Holm,
                                Correction::Bonferroni, Correction::None}) {
    // The whole family, and candidates of a larger family (the others rank after them).
    for (std::int64_t extra : {0, 1000}) {
      const auto family = static_cast<std::int64_t>(all.size()) + extra;
      const std::vector<double> expected = svr::adjust_log10_candidates(all, family, correction);
      const std::vector<double> got = svr::adjust_log10_across(comm, mine, family, correction);
      ASSERT_EQ(got.size(), mine.size());
      for (std::size_t i = 0; i < mine.size(); ++i)
        ASSERT_EQ(got[i], expected[my_offset + i])
            << svr::to_string(correction) << " family " << family << " value " << i;
    }
  }
}

TEST(AdjustAcross, RefusesOnEveryRankAlike) {
  svr::mpi::Communicator comm;
  std::vector<double> mine = {-1.0, -2.0};
  const std::int64_t total = 2 * comm.size();
  EXPECT_THROW(svr::adjust_log10_across(comm, mine, total - 1, Correction::BH),
               std::invalid_argument);
  if (comm.rank() == comm.size() - 1) mine.push_back(0.5);  // p > 1
  EXPECT_THROW(svr::adjust_log10_across(comm, mine, total + 1, Correction::Holm),
               std::invalid_argument);
}

}  // namespace
