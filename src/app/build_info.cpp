#include "svr/app/build_info.hpp"

#include "svr/linalg/library_info.hpp"
#include "svr/linalg/slepc_svd.hpp"
#include "svr/parallel/mpi.hpp"
#include "svr_git_commit.hpp"  // generated at build time (cmake/GitCommit.cmake)

#ifndef SVR_COMPILER
#define SVR_COMPILER "unknown"
#endif
#ifndef SVR_BUILD_TYPE
#define SVR_BUILD_TYPE ""
#endif

namespace svr {

std::string slepc_description(bool open) {
  if (!open && !slepc_plugin_opened()) {
    const std::string file = slepc_plugin_file();
    if (!file.empty()) return "not opened by this process: " + file;
  }
  const SlepcPlugin& slepc = slepc_plugin();
  return slepc.loaded ? slepc.version + " (" + slepc.path + ")" : "not available: " + slepc.problem;
}

BuildInfo build_info(bool open_plugins) {
  BuildInfo build;
  build.version = SVR_VERSION;
  build.git_commit = SVR_GIT_COMMIT;
  build.compiler = SVR_COMPILER;
  build.build_type = SVR_BUILD_TYPE;
  build.mpi = mpi::library_version();
  const NumericalLibraries libraries = numerical_libraries();
  build.blas = libraries.blas;
  build.lapack = libraries.lapack;
  build.scalapack = libraries.scalapack;
  build.slepc = slepc_description(open_plugins);
  return build;
}

}  // namespace svr
