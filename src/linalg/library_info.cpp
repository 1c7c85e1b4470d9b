#include "svr/linalg/library_info.hpp"

#include <dlfcn.h>
#include <link.h>
#include <unistd.h>

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

std::string directory_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

// The real path of the shared object that defines `symbol` for this process: the first in the
// global lookup order, the one every caller's (svr's, ScaLAPACK's, LAPACK's) reference binds to.
// Empty when no shared object defines it (the library is linked statically into svr).
std::string provider_of(const char* symbol) {
  void* address = dlsym(RTLD_DEFAULT, symbol);
  Dl_info info{};
  if (address == nullptr || dladdr(address, &info) == 0 || info.dli_fname == nullptr) return {};
  char resolved[PATH_MAX];
  const std::string path = realpath(info.dli_fname, resolved) ? resolved : info.dli_fname;
  char self[PATH_MAX];
  const ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
  if (length > 0 && path == std::string(self, static_cast<std::size_t>(length))) return {};
  return path;
}

// "PROVIDER", or "PROVIDER; also loaded, not used: OTHER, ..." when other loaded objects look
// like the same kind of library (a BLAS that ScaLAPACK's own dependencies brought, shadowed by
// the one svr was linked with).
std::string describe(const std::string& provider, const std::vector<std::string>& paths,
                     const std::vector<std::string>& words,
                     const std::vector<std::string>& unless) {
  std::string others;
  for (const std::string& path : paths) {
    const std::string name = base_name(path);
    bool match = false, excluded = false;
    for (const std::string& word : words) match |= name.find(word) != std::string::npos;
    for (const std::string& other : unless) excluded |= name.find(other) != std::string::npos;
    // Objects beside the provider are its own parts (Debian's OpenBLAS: libblas.so.3 calls
    // into libopenblas.so.0 in the same directory).
    const bool beside = !provider.empty() && directory_of(path) == directory_of(provider);
    if (!match || excluded || beside || others.find(path) != std::string::npos) continue;
    others += (others.empty() ? "" : ", ") + path;
  }
  std::string text = provider.empty() ? "statically linked" : provider;
  if (!others.empty()) text += "; also loaded, not used: " + others;
  return text;
}

}  // namespace

NumericalLibraries numerical_libraries() {
  const std::vector<std::string> paths = loaded_objects();
  NumericalLibraries out;
  out.scalapack = describe(provider_of("pdgesvd_"), paths, {"scalapack"}, {});
  const std::string blas = provider_of("dgemm_");
  out.blas = describe(blas, paths, {"blas", "blis", "mkl_", "essl", "armpl"}, {"scalapack"});
  // OpenBLAS names its build (version, kernels, threading) when it is the BLAS in use.
  if (openblas_get_config != nullptr && provider_of("openblas_get_config") == blas && !blas.empty())
    out.blas = std::string(openblas_get_config()) + " (" + out.blas + ")";
  lapack_int major = 0, minor = 0, patch = 0;
  ilaver_(&major, &minor, &patch);
  out.lapack = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch) +
               " (" + describe(provider_of("dgesdd_"), paths, {"lapack", "flame"}, {"scalapack"}) +
               ")";
  return out;
}

}  // namespace svr
