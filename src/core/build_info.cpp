#include "svr/core/build_info.hpp"

namespace svr {

std::string describe_build(const BuildInfo& build) {
  std::string text = "svr " + build.version + " (git " + build.git_commit + ")\n";
  const auto line = [&text](const char* name, const std::string& value) {
    text += std::string("  ") + name + ": " + (value.empty() ? "unknown" : value) + "\n";
  };
  line("compiler", build.compiler + (build.build_type.empty() ? "" : ", " + build.build_type));
  line("MPI", build.mpi);
  line("BLAS", build.blas);
  line("LAPACK", build.lapack);
  line("ScaLAPACK", build.scalapack);
  line("SLEPc", build.slepc);
  return text;
}

}  // namespace svr
