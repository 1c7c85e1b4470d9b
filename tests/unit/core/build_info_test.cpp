#include "svr/core/build_info.hpp"

#include <gtest/gtest.h>

namespace svr {
namespace {

TEST(BuildInfo, DescribesEveryLibraryOnItsOwnLine) {
  BuildInfo build;
  build.version = "1.2.3";
  build.git_commit = "0123456789ab+dirty";
  build.compiler = "GNU 12.2.0";
  build.build_type = "Release";
  build.mpi = "Open MPI v4.1.4";
  build.blas = "OpenBLAS 0.3.21 (/usr/lib/libblas.so.3)";
  build.lapack = "3.11.0 (/usr/lib/liblapack.so.3)";
  build.scalapack = "/usr/lib/libscalapack-openmpi.so.2.2.1";
  build.slepc = "SLEPc 3.18.2, PETSc 3.18.5 (/usr/lib/svr/libsvr_slepc.so)";
  EXPECT_EQ(describe_build(build),
            "svr 1.2.3 (git 0123456789ab+dirty)\n"
            "  compiler: GNU 12.2.0, Release\n"
            "  MPI: Open MPI v4.1.4\n"
            "  BLAS: OpenBLAS 0.3.21 (/usr/lib/libblas.so.3)\n"
            "  LAPACK: 3.11.0 (/usr/lib/liblapack.so.3)\n"
            "  ScaLAPACK: /usr/lib/libscalapack-openmpi.so.2.2.1\n"
            "  SLEPc: SLEPc 3.18.2, PETSc 3.18.5 (/usr/lib/svr/libsvr_slepc.so)\n");
}

TEST(BuildInfo, UnknownWhatIsMissing) {
  BuildInfo build;
  build.version = "1.2.3";
  build.git_commit = "unknown";
  build.compiler = "GNU 12.2.0";
  EXPECT_EQ(describe_build(build),
            "svr 1.2.3 (git unknown)\n"
            "  compiler: GNU 12.2.0\n"
            "  MPI: unknown\n"
            "  BLAS: unknown\n"
            "  LAPACK: unknown\n"
            "  ScaLAPACK: unknown\n"
            "  SLEPc: unknown\n");
}

}  // namespace
}  // namespace svr
