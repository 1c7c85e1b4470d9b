#include "svr/linalg/library_info.hpp"

#include <link.h>

#include <climits>
#include <cstdlib>
#include <string>
#include <vector>

#include "imports.hpp"

namespace svr {
namespace {

// The real paths of the loaded shared objects.
std::vector<std::string> loaded_objects() {
  std::vector<std::string> paths;
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) {
        if (info->dlpi_name && info->dlpi_name[0] != '\0') {
          char resolved[PATH_MAX];
          const char* path = realpath(info->dlpi_name, resolved) ? resolved : info->dlpi_name;
          static_cast<std::vector<std::string>*>(data)->push_back(path);
        }
        return 0;
      },
      &paths);
  return paths;
}

std::string base_name(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The loaded objects whose file name contains `word` and none of `unless`, joined by ", ".
std::string objects_named(const std::vector<std::string>& paths, const std::string& word,
                          const std::vector<std::string>& unless = {}) {
  std::string found;
  for (const std::string& path : paths) {
    const std::string name = base_name(path);
    bool excluded = false;
    for (const std::string& other : unless) excluded |= name.find(other) != std::string::npos;
    if (name.find(word) == std::string::npos || excluded) continue;
    if (found.find(path) == std::string::npos) found += (found.empty() ? "" : ", ") + path;
  }
  return found.empty() ? "statically linked" : found;
}

}  // namespace

NumericalLibraries numerical_libraries() {
  const std::vector<std::string> paths = loaded_objects();
  NumericalLibraries out;
  out.scalapack = objects_named(paths, "scalapack");
  std::string blas = objects_named(paths, "blas", {"scalapack"});
  if (openblas_get_config) blas = std::string(openblas_get_config()) + " (" + blas + ")";
  out.blas = blas;
  lapack_int major = 0, minor = 0, patch = 0;
  ilaver_(&major, &minor, &patch);
  out.lapack = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch) +
               " (" + objects_named(paths, "lapack", {"scalapack"}) + ")";
  return out;
}

}  // namespace svr
