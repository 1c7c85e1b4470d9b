// SLEPc as the engine of the top K (slepc_svd.hpp): the plug-in found and loaded, the request
// filled from an Eigen matrix (one rank) or from a P x 1 copy of a grid matrix (a team), the
// answer checked as svr's own method's is.
#include "svr/linalg/slepc_svd.hpp"

#include <dlfcn.h>
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "krylov_method.hpp"
#include "svr/core/error.hpp"
#include "svr/linalg/process_grid.hpp"
#include "svr/linalg/redistribute.hpp"
#include "svr/linalg/slepc_plugin_abi.hpp"
#include "svr/parallel/mpi.hpp"

#ifndef SVR_PLUGIN_INSTALL_RELATIVE
#define SVR_PLUGIN_INSTALL_RELATIVE "../lib/svr"
#endif

namespace svr {
namespace {

constexpr const char* kPluginFile = "libsvr_slepc.so";

struct Plugin {
  SlepcPlugin about;
  SlepcTopSvdFunction top_svd = nullptr;
  SlepcFinalizeFunction finalize = nullptr;
};

std::string executable_dir() {
  std::vector<char> path(4096);
  const ssize_t length = readlink("/proc/self/exe", path.data(), path.size() - 1);
  if (length <= 0) return "";
  std::string exe(path.data(), static_cast<std::size_t>(length));
  return exe.substr(0, exe.find_last_of('/'));
}

bool exists(const std::string& path) { return access(path.c_str(), R_OK) == 0; }

// Tries one file; on success fills the functions.
bool try_load(const std::string& path, Plugin& plugin) {
  plugin.about.path = path;
  // RTLD_LOCAL: PETSc's symbols stay inside the plug-in's own namespace of lookups.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* message = dlerror();
    plugin.about.problem = message != nullptr ? message : "dlopen failed on " + path;
    return false;
  }
  auto top = reinterpret_cast<SlepcTopSvdFunction>(dlsym(handle, "svr_slepc_top_svd"));
  auto version = reinterpret_cast<SlepcVersionFunction>(dlsym(handle, "svr_slepc_version"));
  auto finalize = reinterpret_cast<SlepcFinalizeFunction>(dlsym(handle, "svr_slepc_finalize"));
  if (top == nullptr || version == nullptr || finalize == nullptr) {
    plugin.about.problem = path + " is not svr's SLEPc plug-in (its functions are missing)";
    dlclose(handle);
    return false;
  }
  plugin.top_svd = top;
  plugin.finalize = finalize;
  plugin.about.version = version();
  plugin.about.loaded = true;
  plugin.about.problem.clear();
  return true;
}

// Where the plug-in is looked for, in order: $SVR_SLEPC_PLUGIN alone when set, else next to the
// executable and in the install tree's library folder.
std::vector<std::string> plugin_candidates() {
  if (const char* chosen = std::getenv("SVR_SLEPC_PLUGIN"); chosen != nullptr && *chosen)
    return {chosen};
  const std::string dir = executable_dir();
  return {dir + "/" + kPluginFile, dir + "/" SVR_PLUGIN_INSTALL_RELATIVE "/" + kPluginFile};
}

Plugin load_plugin() {
  Plugin plugin;
  if (const char* chosen = std::getenv("SVR_SLEPC_PLUGIN"); chosen != nullptr && *chosen) {
    try_load(chosen, plugin);  // dlopen's own message when it is not there
    return plugin;
  }
  for (const std::string& candidate : plugin_candidates()) {
    if (!exists(candidate)) continue;
    if (try_load(candidate, plugin)) return plugin;
  }
  const std::string dir = executable_dir();
  if (plugin.about.problem.empty())
    plugin.about.problem = std::string(kPluginFile) + " not found next to the executable or in " +
                           dir + "/" SVR_PLUGIN_INSTALL_RELATIVE +
                           " (svr was built without SLEPc, or SVR_SLEPC_PLUGIN names it)";
  return plugin;
}

bool opened = false;

Plugin& plugin() {
  static Plugin loaded = load_plugin();
  opened = true;
  return loaded;
}

bool mpi_initialized() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized != 0 && finalized == 0;
}

// Ends PETSc before MPI (mpi::finalize).
void finalize_plugin() {
  if (plugin().finalize != nullptr) plugin().finalize();
}

// What one SLEPc product pair (M v and M^T u) costs in the cost model's units, per flop of it:
// each is a gemv, which streams M from memory, where the full SVD the budget is counted in runs
// at gemm's speed. Measured on 4096 x 4096 (docs/benchmarks.md, one core of the 2-core
// machine): 18 ms per pair, 4.6e10 model flops per second for dgesdd, hence 11. With many
// ranks per node sharing memory bandwidth the ratio grows; the projection below then stops
// SLEPc earlier, never later.
constexpr double kSlepcProductWeight = 11.0;

// SLEPc's default basis for K triplets (ncv = max(2K, K + 15), at most the short side).
double slepc_basis(double K, double short_dim) {
  return std::min(short_dim, std::max(2 * K, K + 15));
}

// svr's budget (the full SVD's cost model) in SLEPc's product pairs.
double products_budget(double long_dim, double short_dim, const TruncatedSvdSettings& settings) {
  return krylov::budget_of(long_dim, short_dim, settings) /
         (4.0 * long_dim * short_dim * kSlepcProductWeight);
}

// Runs one request, after the checks svr's method makes; 0, 1 or 2 as svr_slepc_top_svd.
int run(SlepcTopRequest& request, SlepcTopResult& result, const TruncatedSvdSettings& settings,
        double long_dim, double short_dim) {
  Plugin& p = plugin();
  if (!p.about.loaded)
    throw Error("--truncated-svd slepc: SLEPc's plug-in is not available: " + p.about.problem);
  if (!mpi_initialized()) throw Error("the SLEPc engine needs MPI to be initialised");
  static bool registered = false;
  if (!registered) {
    mpi::call_before_finalize(finalize_plugin);
    registered = true;
  }
  request.rank = settings.rank;
  request.tolerance = settings.tolerance;
  request.max_iterations = settings.max_iterations;
  const double budget = products_budget(long_dim, short_dim, settings);
  request.max_products = std::isfinite(budget) ? budget : 0.0;
  request.projection_margin = krylov::projection_margin;
  return p.top_svd(&request, &result);
}

// The cost rule's first check: SLEPc's first pass, a product pair per basis vector, would cost
// more than the full SVD (K large against the short side, or a small layer, where dgesdd wins).
bool too_large_to_start(double long_dim, double short_dim, const TruncatedSvdSettings& settings,
                        const krylov::GiveUp& give_up) {
  const double first_pass = slepc_basis(static_cast<double>(settings.rank), short_dim);
  if (first_pass <= products_budget(long_dim, short_dim, settings)) return false;
  give_up("K = " + std::to_string(settings.rank) +
              " of min(rows, cols) = " + std::to_string(static_cast<std::int64_t>(short_dim)) +
              ": SLEPc's first " + std::to_string(static_cast<std::int64_t>(first_pass)) +
              " products would cost more than the full SVD",
          true);
  return true;
}

// Zero singular values have no unique vectors: below this the K-th value counts as zero (and
// the full SVD's arbitrary but deterministic null vectors are used instead).
bool rank_below_k(const Eigen::VectorXd& s, double short_dim) {
  return s.size() > 0 &&
         s[s.size() - 1] <= short_dim * std::numeric_limits<double>::epsilon() * s[0];
}

std::string rank_problem(std::int64_t K) {
  return "its numerical rank is below " + std::to_string(K);
}

std::string residual_problem(double residual) {
  return "SLEPc's final residual " + krylov::residual_text(residual) + " is above the tolerance";
}

}  // namespace

const SlepcPlugin& slepc_plugin() { return plugin().about; }

bool slepc_plugin_opened() { return opened; }

std::string slepc_plugin_file() {
  for (const std::string& candidate : plugin_candidates())
    if (exists(candidate)) return candidate;
  return "";
}

bool use_slepc(const TruncatedSvdSettings& settings) {
  if (settings.precision != SvdPrecision::Double) return false;
  switch (settings.engine) {
    case TruncatedEngine::Builtin:
      return false;
    case TruncatedEngine::Slepc:
      return true;
    case TruncatedEngine::Auto:
      break;
  }
  return slepc_plugin().loaded && mpi_initialized();
}

std::optional<TruncatedSvdResult> slepc_svd(const Eigen::MatrixXd& M,
                                            const TruncatedSvdSettings& settings,
                                            KrylovGiveUp* why) {
  krylov::check_settings("slepc_svd", M.rows(), M.cols(), settings);
  if (!M.allFinite()) throw NumericalError("slepc_svd: the matrix contains NaN or Inf");
  const krylov::GiveUp give_up{why};
  const double L = static_cast<double>(std::max(M.rows(), M.cols()));
  const double n = static_cast<double>(std::min(M.rows(), M.cols()));
  if (too_large_to_start(L, n, settings, give_up)) return std::nullopt;

  const Eigen::Index K = settings.rank;
  TruncatedSvdResult out;
  Spectrum& spectrum = out.spectrum;
  spectrum.s.resize(K);
  spectrum.U.resize(M.rows(), K);
  spectrum.V.resize(M.cols(), K);
  SlepcTopRequest request;
  request.comm = MPI_COMM_SELF;
  request.rows = M.rows();
  request.cols = M.cols();
  request.local_rows = M.rows();
  request.local_cols = M.cols();
  request.local = M.data();
  request.local_ld = std::max<Eigen::Index>(1, M.rows());
  SlepcTopResult result;
  result.s = spectrum.s.data();
  result.u = spectrum.U.data();
  result.v = spectrum.V.data();
  const int status = run(request, result, settings, L, n);
  if (status == 2) throw Error(result.message);
  if (status == 1 && result.missed_value != 0) return krylov_svd(M, settings, why);
  if (status == 1) return give_up(result.message, result.gave_up_on_cost != 0);
  if (rank_below_k(spectrum.s, n)) return give_up(rank_problem(K));
  out.report.method = "lapack-slepc";
  out.report.iterations = result.iterations;
  out.report.residual = svd_residual(M, spectrum);
  if (!(*out.report.residual <= settings.tolerance))
    return give_up(residual_problem(*out.report.residual));
  return out;
}

double slepc_copy_bytes_per_rank(std::int64_t rows, std::int64_t cols, int ranks) {
  if (ranks <= 1) return 0.0;
  const double share = static_cast<double>(rows) * static_cast<double>(cols) / ranks;
  // The copy (M moves from its grid, so the source has M's rows), and redistribute's send and
  // receive buffers of at most one round each.
  const double round = std::min(
      share, static_cast<double>(rows) * static_cast<double>(redistribute_round_columns(rows)));
  return 8.0 * (share + 2.0 * round);
}

bool slepc_copy_fits(std::int64_t rows, std::int64_t cols, int ranks, double budget_bytes,
                     double overhead_bytes, const TruncatedSvdSettings& settings) {
  if (settings.engine == TruncatedEngine::Slepc || budget_bytes <= 0.0 || ranks <= 1) return true;
  const double own = 8.0 * static_cast<double>(rows) * static_cast<double>(cols) / ranks;
  return own + slepc_copy_bytes_per_rank(rows, cols, ranks) + overhead_bytes <= budget_bytes;
}

std::optional<DistributedTruncatedSvd> distributed_slepc_svd(const DistributedMatrix& M,
                                                             const TruncatedSvdSettings& settings,
                                                             KrylovGiveUp* why) {
  krylov::check_settings("distributed_slepc_svd", M.rows(), M.cols(), settings);
  const ProcessGrid& grid = M.grid();
  if (!grid.active()) return std::nullopt;
  const krylov::GiveUp give_up{why};
  const double L = static_cast<double>(std::max(M.rows(), M.cols()));
  const double n = static_cast<double>(std::min(M.rows(), M.cols()));
  if (too_large_to_start(L, n, settings, give_up)) return std::nullopt;

  // PETSc's layout: the same ranks as a P x 1 grid, row blocks of ceil(rows / P) (one block per
  // rank); the right vectors split the same way over the columns.
  const int P = grid.shape().size();
  const auto share = [P](std::int64_t count) {
    return std::max<std::int64_t>(1, (count + P - 1) / P);
  };
  const std::int64_t row_block = share(M.rows()), col_block = share(M.cols());
  const std::int64_t K = settings.rank;
  const GridShape column_shape{P, 1};
  const ProcessGrid column_grid(grid.comm(), column_shape, 0);
  // On a team of one rank M's local array is the whole matrix, column-major: PETSc's layout
  // already, so SLEPc works on it in place. A larger team works on a P x 1 copy.
  std::optional<DistributedMatrix> copy;
  if (P > 1) {
    copy.emplace(column_grid, M.rows(), M.cols(), row_block);
    const SubgridLayout a_layout{column_shape, 0, row_block, M.rows(), M.cols()};
    redistribute(grid, RedistributionSource::of(M),
                 RedistributionTarget::on_subgrid(&*copy, a_layout));
  }
  const DistributedMatrix& A = copy ? *copy : M;
  // A finite check on every rank alike (NaN or Inf in any block stops every rank).
  int finite = A.local_rows() == 0 ||
               Eigen::Map<const Eigen::MatrixXd>(A.data(), A.local_ld(), A.local_cols())
                   .topRows(A.local_rows())
                   .allFinite();
  mpi::check(MPI_Allreduce(MPI_IN_PLACE, &finite, 1, MPI_INT, MPI_MIN, grid.comm()),
             "MPI_Allreduce");
  if (!finite) throw NumericalError("distributed_slepc_svd: the matrix contains NaN or Inf");

  DistributedMatrix U_col(column_grid, M.rows(), K, row_block);
  DistributedMatrix V_col(column_grid, M.cols(), K, col_block);
  Eigen::VectorXd s(K);
  SlepcTopRequest request;
  request.comm = grid.comm();
  request.rows = M.rows();
  request.cols = M.cols();
  request.local_rows = A.local_rows();
  request.local_cols = V_col.local_rows();
  request.local = A.data();
  request.local_ld = A.local_ld();
  SlepcTopResult result;
  result.s = s.data();
  result.u = U_col.data();
  result.v = V_col.data();
  int status = run(request, result, settings, L, n);
  // SLEPc's answer is the same on every rank of the team; an error need not be.
  mpi::check(MPI_Allreduce(MPI_IN_PLACE, &status, 1, MPI_INT, MPI_MAX, grid.comm()),
             "MPI_Allreduce");
  if (status == 2)
    throw Error(result.message[0] != '\0' ? result.message
                                          : "SLEPc failed on another rank of the layer's team");
  if (status == 1 && result.missed_value != 0) {
    // Every rank alike (the check ran on the team's communicator).
    return distributed_krylov_svd(M, settings, why);
  }
  if (status == 1) return give_up(result.message, result.gave_up_on_cost != 0);

  if (rank_below_k(s, n)) return give_up(rank_problem(K));
  DistributedTruncatedSvd out{
      DistributedSpectrum{s, DistributedMatrix(grid, M.rows(), K, M.block()),
                          DistributedMatrix(grid, M.cols(), K, M.block())},
      SvdReport{}};
  redistribute(grid,
               RedistributionSource::on_subgrid(
                   &U_col, SubgridLayout{column_shape, 0, row_block, M.rows(), K}, M.rows(), K),
               RedistributionTarget::of(out.spectrum.U));
  redistribute(grid,
               RedistributionSource::on_subgrid(
                   &V_col, SubgridLayout{column_shape, 0, col_block, M.cols(), K}, M.cols(), K),
               RedistributionTarget::of(out.spectrum.V));
  out.report.method = "scalapack-slepc";
  out.report.iterations = result.iterations;
  out.report.residual = distributed_svd_residual(M, out.spectrum, s[0]);
  if (!(*out.report.residual <= settings.tolerance))
    return give_up(residual_problem(*out.report.residual));
  return out;
}

}  // namespace svr
