// Block-cyclic index maps against a brute-force enumeration and against ScaLAPACK's numroc.
#include <gtest/gtest.h>

#include <vector>

#include "svr/linalg/distributed_matrix.hpp"
#include "svr/linalg/scalapack.hpp"

namespace bc = svr::block_cyclic;

TEST(IndexMaps, MatchBruteForceEnumeration) {
  for (std::int64_t n = 0; n <= 40; ++n)
    for (std::int64_t nb = 1; nb <= 7; ++nb)
      for (int procs = 1; procs <= 5; ++procs) {
        // Deal blocks round-robin by hand: block b goes to process b % procs, appended.
        std::vector<std::vector<std::int64_t>> held(static_cast<std::size_t>(procs));
        for (std::int64_t g = 0; g < n; ++g) held[static_cast<std::size_t>((g / nb) % procs)].push_back(g);
        for (int p = 0; p < procs; ++p) {
          const auto& mine = held[static_cast<std::size_t>(p)];
          ASSERT_EQ(bc::local_count(n, nb, p, procs), static_cast<std::int64_t>(mine.size()))
              << "n=" << n << " nb=" << nb << " P=" << procs << " p=" << p;
          ASSERT_EQ(svr::scalapack::numroc(static_cast<svr::lapack_int>(n),
                                           static_cast<svr::lapack_int>(nb), p, 0, procs),
                    static_cast<svr::lapack_int>(mine.size()));
          for (std::size_t l = 0; l < mine.size(); ++l) {
            const std::int64_t g = mine[l];
            ASSERT_EQ(bc::owner(g, nb, procs), p);
            ASSERT_EQ(bc::global_to_local(g, nb, procs), static_cast<std::int64_t>(l));
            ASSERT_EQ(bc::local_to_global(static_cast<std::int64_t>(l), nb, p, procs), g);
          }
        }
      }
}
