#pragma once
// What svr was built from and runs with: `svr --version` prints it and summary.json records it
// (run.build), so that a result can be traced to the source, the compiler and the libraries
// that made it. Plain data; app/build_info.hpp fills it in.
#include <string>

namespace svr {

struct BuildInfo {
  std::string version;     // the project version, e.g. "0.1.0"
  std::string git_commit;  // the source's commit at build time ("+dirty": uncommitted changes;
                           // "unknown" when built outside git)
  std::string compiler;    // e.g. "GNU 12.2.0"
  std::string build_type;  // CMAKE_BUILD_TYPE, e.g. "Release"
  std::string mpi;         // MPI_Get_library_version's first line
  std::string blas;        // the BLAS library loaded, and OpenBLAS's configuration if it is that
  std::string lapack;      // LAPACK's version (ilaver) and the library loaded
  std::string scalapack;   // the ScaLAPACK library loaded
  std::string slepc;       // the SLEPc plug-in: its versions and file, or why it is not there
};

// The text of `svr --version`: "svr VERSION (git COMMIT)", then one "  name: value" line each
// for the compiler, MPI, BLAS, LAPACK, ScaLAPACK and SLEPc.
std::string describe_build(const BuildInfo& build);

}  // namespace svr
