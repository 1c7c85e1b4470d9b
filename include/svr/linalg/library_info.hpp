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

// Local. For each library, the shared object that defines its routine for this process (dgemm,
// dgesdd, pdgesvd: the first in the global lookup order, which every call binds to), symbolic
// links resolved so that the file name carries the version, then any other loaded object that
// looks like the same library and goes unused (e.g. the OpenBLAS ScaLAPACK depends on, shadowed
// by a BLIS svr was linked with). LAPACK's version from ilaver, and OpenBLAS's configuration
// string when OpenBLAS is the BLAS in use. "statically linked" when no shared object defines it.
NumericalLibraries numerical_libraries();

}  // namespace svr
