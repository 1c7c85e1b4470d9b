#pragma once
// The top K singular triplets by SLEPc's thick-restart Lanczos, the engine of --max-rank in
// double precision when svr's SLEPc plug-in is there (docs/distributed-svd.md, "SLEPc"). SLEPc
// lives in a plug-in, libsvr_slepc.so, loaded with dlopen on first use, so svr runs and starts
// as fast without it; svr's own block Krylov method (truncated_svd.hpp) takes over when it is
// missing.
#include <cstdint>
#include <optional>
#include <string>

#include "svr/linalg/distributed_matrix.hpp"
#include "svr/linalg/distributed_truncated_svd.hpp"
#include "svr/linalg/truncated_svd.hpp"

namespace svr {

// The plug-in as found: where, its SLEPc and PETSc versions, or why it is not usable.
struct SlepcPlugin {
  bool loaded = false;
  std::string path;     // the file loaded (or the last one tried)
  std::string version;  // "SLEPc 3.18.2, PETSc 3.18.5"
  std::string problem;  // why not loaded: no file found, or dlopen's message
};

// Looks for the plug-in once per process and keeps the answer: $SVR_SLEPC_PLUGIN if set (and
// then only there), else libsvr_slepc.so next to the running executable (the build tree), else
// in the install tree's library folder (CMAKE_INSTALL_LIBDIR/svr, relative to the executable's
// bin folder). Loading does not initialise PETSc; the first solve does.
const SlepcPlugin& slepc_plugin();

// Whether this process has looked for the plug-in (slepc_plugin()), without looking.
bool slepc_plugin_opened();
// The file slepc_plugin() would open first, without opening it ("" when there is none): opening
// loads PETSc's hundred libraries, 85 ms per process, which a run that needs no truncated SVD
// should not pay for a line of summary.json.
std::string slepc_plugin_file();

// Which engine a --max-rank layer in double precision uses: SLEPc when the plug-in is loaded
// and MPI is initialised (PETSc runs on top of it), svr's own method otherwise; --truncated-svd
// builtin|slepc forces one. Single precision always runs svr's own method in float (Debian's
// SLEPc is built for double).
bool use_slepc(const TruncatedSvdSettings& settings);

// The contract of krylov_svd (the same arguments, give-ups and exceptions): the top
// settings.rank triplets of M, each with residual <= tolerance * s_max (recomputed here from the
// vectors, as for svr's method), or nothing with the reason. report.method "lapack-slepc".
// Throws svr::Error when the plug-in cannot be used (use_slepc says when it can).
std::optional<TruncatedSvdResult> slepc_svd(const Eigen::MatrixXd& M,
                                            const TruncatedSvdSettings& settings,
                                            KrylovGiveUp* why = nullptr);

// What distributed_slepc_svd needs per rank beyond M's own blocks and the result, for a rows x
// cols M on a team of `ranks` ranks: on more than one rank the P x 1 copy, and while it is made,
// redistribute's send and receive buffers (one round each, kRedistributePieceDoubles values or
// one column, at most the local share of M). 0 on one rank.
double slepc_copy_bytes_per_rank(std::int64_t rows, std::int64_t cols, int ranks);

// Whether a team has room for that copy next to M's own share and `overhead_bytes`, within
// `budget_bytes` per rank (0: no budget, always room). --truncated-svd slepc (settings.engine)
// always has room: the user asked for it. The pipeline runs svr's block method, which works on M
// where it is, on a team where --truncated-svd auto finds no room (a plan already over a
// detected budget: very wide layers on few ranks).
bool slepc_copy_fits(std::int64_t rows, std::int64_t cols, int ranks, double budget_bytes,
                     double overhead_bytes, const TruncatedSvdSettings& settings);

// slepc_svd on M's process grid, collective over it: M moves onto a P x 1 grid of the same ranks
// (PETSc's layout of a dense matrix: contiguous row blocks), SLEPc runs on the grid's
// communicator, and U and V move back onto M's grid and block size. The contract of
// distributed_krylov_svd; report.method "scalapack-slepc". Memory: on a grid of one rank none
// beyond M (SLEPc works on M's array); on more, slepc_copy_bytes_per_rank.
std::optional<DistributedTruncatedSvd> distributed_slepc_svd(const DistributedMatrix& M,
                                                             const TruncatedSvdSettings& settings,
                                                             KrylovGiveUp* why = nullptr);

}  // namespace svr
