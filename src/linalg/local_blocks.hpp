#pragma once
// The local blocks of a DistributedMatrix in another precision T, with the same layout and
// descriptor: how the single-precision paths hand float arrays to ScaLAPACK and PBLAS without a
// float DistributedMatrix (distributed_svd.cpp, distributed_truncated_svd.cpp). For double it is
// a plain copy. Private to src/linalg/.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "svr/core/error.hpp"
#include "svr/linalg/distributed_matrix.hpp"
#include "svr/linalg/scalapack.hpp"
#include "svr/parallel/mpi.hpp"

namespace svr {

template <typename T>
struct LocalBlocks {
  std::vector<T> data;
  scalapack::Descriptor descriptor{};

  // A copy of x's entries, rounded to T.
  static LocalBlocks narrowed(const DistributedMatrix& x) {
    LocalBlocks out = zeros_like(x);
    const std::int64_t count = x.local_rows() * x.local_cols();
    for (std::int64_t i = 0; i < count; ++i) out.data[static_cast<std::size_t>(i)] = T(x.data()[i]);
    return out;
  }
  // Zeros with x's layout.
  static LocalBlocks zeros_like(const DistributedMatrix& x) {
    const std::int64_t count = std::max<std::int64_t>(1, x.local_rows() * x.local_cols());
    return {std::vector<T>(static_cast<std::size_t>(count), T(0)), x.descriptor()};
  }
  // x := these entries, widened to double (x has the layout these came from).
  void widen_into(DistributedMatrix& x) const {
    const std::int64_t count = x.local_rows() * x.local_cols();
    for (std::int64_t i = 0; i < count; ++i)
      x.data()[i] = double(data[static_cast<std::size_t>(i)]);
  }
};

// Single precision refuses what float cannot hold, on every rank of a's grid alike (collective).
inline void check_single_range(const char* method, const DistributedMatrix& a) {
  bool fits = true;
  const double largest = static_cast<double>(std::numeric_limits<float>::max());
  const std::int64_t count = a.local_rows() * a.local_cols();
  for (std::int64_t i = 0; i < count && fits; ++i) fits = std::abs(a.data()[i]) <= largest;
  mpi::agreed(a.grid().comm(), [&] {
    if (!fits)
      throw NumericalError(std::string(method) +
                           ": the matrix has an entry beyond single precision's range; run it "
                           "with --precision double");
  });
}

}  // namespace svr
