#pragma once
// The BuildInfo of this binary and process (core/build_info.hpp): the version, the commit and
// the compiler fixed at build time, the MPI, BLAS, LAPACK and ScaLAPACK libraries found at run
// time.
#include "svr/core/build_info.hpp"

namespace svr {

// Local; callable before MPI_Init. open_plugins: the SLEPc plug-in is opened to name its versions
// (svr --version); otherwise it is named by its file unless this process opened it already
// (slepc_description).
BuildInfo build_info(bool open_plugins = true);

// BuildInfo::slepc: "SLEPc 3.18.2, PETSc 3.18.5 (PATH)" once opened; "not opened by this
// process: PATH" when the file is there but nothing needed it and open is false;
// "not available: WHY" otherwise.
std::string slepc_description(bool open);

}  // namespace svr
