#pragma once
// The numerical libraries this process runs with, found at run time rather than taken from what
// CMake saw: on a cluster, modules and LD_LIBRARY_PATH decide which BLAS, LAPACK and ScaLAPACK a
// binary loads (Debian's alternatives too: libblas.so.3 may be OpenBLAS, BLIS or the reference).
#include <string>

namespace svr {

struct NumericalLibraries {
  std::string blas;       // e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ... (/usr/lib/.../libblas.so.3)"
  std::string lapack;     // e.g. "3.11.0 (/usr/lib/.../liblapack.so.3)"
  std::string scalapack;  // e.g. "/usr/lib/x86_64-linux-gnu/libscalapack-openmpi.so.2.2.1"
};

// Local. The loaded shared objects whose names mention blas, lapack or scalapack (symbolic links
// resolved, so the file name carries the version), LAPACK's version from ilaver, and OpenBLAS's
// configuration string when the BLAS is OpenBLAS. "statically linked" when no such object is
// loaded.
NumericalLibraries numerical_libraries();

}  // namespace svr
