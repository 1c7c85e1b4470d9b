#pragma once
// The BuildInfo of this binary and process (core/build_info.hpp): the version, the commit and
// the compiler fixed at build time, the MPI, BLAS, LAPACK and ScaLAPACK libraries found at run
// time.
#include "svr/core/build_info.hpp"

namespace svr {

// Local; callable before MPI_Init.
BuildInfo build_info();

}  // namespace svr
