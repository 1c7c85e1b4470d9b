#include "svr/linalg/svd.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "svr/core/error.hpp"
#include "svr/linalg/lapack.hpp"

namespace svr {
namespace {

enum class Routine { Gesdd, Gesvd };

// Thin SVD of a matrix with at least as many rows as columns: A = U diag(s) Vt, in the
// precision of T.
template <typename T>
void tall_svd(Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>& a, Routine routine,
              Eigen::Matrix<T, Eigen::Dynamic, 1>& s,
              Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>& u,
              Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>& vt) {
  const lapack_int m = to_lapack_int(a.rows());
  const lapack_int n = to_lapack_int(a.cols());
  s.resize(n);
  u.resize(m, n);
  vt.resize(n, n);
  const lapack_int lda = std::max<lapack_int>(1, m);  // >= 1 even for empty dimensions
  const lapack_int ldvt = std::max<lapack_int>(1, n);
  if (routine == Routine::Gesdd)
    lapack::gesdd('S', m, n, a.data(), lda, s.data(), u.data(), lda, vt.data(), ldvt);
  else
    lapack::gesvd('S', 'S', m, n, a.data(), lda, s.data(), u.data(), lda, vt.data(), ldvt);
}

template <typename T>
Spectrum lapack_svd(const Eigen::MatrixXd& M, Routine routine) {
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  // OpenBLAS's LAPACK is markedly faster on the QR path of a tall matrix than on the LQ path of
  // the same matrix stored wide (1.4-1.6x on 1024 x 6272 here), so a wide M is factored as M^T,
  // whose factors are those of M with U and V exchanged. The copy is needed anyway: LAPACK
  // destroys its input (and in single precision it is the narrowing).
  const bool tall = M.rows() >= M.cols();
  Matrix a;
  if (tall)
    a = M.template cast<T>();
  else
    a = M.transpose().template cast<T>();
  if constexpr (!std::is_same_v<T, double>) {
    if (!a.allFinite()) {
      char largest[32];
      std::snprintf(largest, sizeof largest, "%.3g", M.cwiseAbs().maxCoeff());
      throw NumericalError(
          std::string("thin_svd: the matrix has an entry beyond single precision's range "
                      "(largest magnitude ") +
          largest + "); run it with --precision double");
    }
  }
  Eigen::Matrix<T, Eigen::Dynamic, 1> s;
  Matrix u, vt;
  tall_svd(a, routine, s, u, vt);
  a.resize(0, 0);
  Spectrum out;
  out.s = s.template cast<double>();
  if constexpr (std::is_same_v<T, double>) {
    (tall ? out.U : out.V) = std::move(u);  // no copy of a factor in double
  } else {
    (tall ? out.U : out.V) = u.template cast<double>();
    u.resize(0, 0);
  }
  (tall ? out.V : out.U) = vt.transpose().template cast<double>();
  return out;
}

Spectrum lapack_svd(const Eigen::MatrixXd& M, Routine routine, SvdPrecision precision) {
  return precision == SvdPrecision::Single ? lapack_svd<float>(M, routine)
                                           : lapack_svd<double>(M, routine);
}

}  // namespace

const char* to_string(SvdPrecision precision) {
  return precision == SvdPrecision::Single ? "single" : "double";
}

double cluster_tolerance(SvdPrecision precision) {
  return precision == SvdPrecision::Single ? 1e-5 : 1e-8;
}

Spectrum thin_svd(const Eigen::MatrixXd& M, std::optional<std::int64_t> max_rank,
                  SvdPrecision precision) {
  if (max_rank && *max_rank < 1)
    throw Error("thin_svd: max_rank must be at least 1, got " + std::to_string(*max_rank));
  if (M.rows() == 0 || M.cols() == 0) {
    Spectrum empty;
    empty.U.resize(M.rows(), 0);
    empty.V.resize(M.cols(), 0);
    return empty;
  }
  // LAPACK's behaviour on NaN/Inf is undefined (it may loop or return garbage): refuse early.
  if (!M.allFinite()) throw NumericalError("thin_svd: the matrix contains NaN or Inf");

  Spectrum out;
  try {
    out = lapack_svd(M, Routine::Gesdd, precision);
  } catch (const LapackError& error) {
    if (error.info() < 0) throw;  // a bad argument is a bug, not a convergence failure
    out = lapack_svd(M, Routine::Gesvd, precision);  // slower but more robust QR iteration
  }

  truncate(out, max_rank);
  return out;
}

void truncate(Spectrum& spectrum, std::optional<std::int64_t> max_rank) {
  if (!max_rank || spectrum.s.size() <= *max_rank) return;
  const Eigen::Index keep = static_cast<Eigen::Index>(*max_rank);
  spectrum.s.conservativeResize(keep);
  spectrum.U.conservativeResize(Eigen::NoChange, keep);
  spectrum.V.conservativeResize(Eigen::NoChange, keep);
  if (!spectrum.group.empty()) spectrum.group.resize(static_cast<std::size_t>(keep));
}

void keep_bottom(Spectrum& spectrum, std::int64_t count) {
  if (count < 1)
    throw std::invalid_argument("keep_bottom: count must be at least 1, got " +
                                std::to_string(count));
  const Eigen::Index r = spectrum.s.size();
  if (r <= count) return;
  const Eigen::Index first = r - static_cast<Eigen::Index>(count);
  spectrum.s = spectrum.s.tail(count).eval();
  spectrum.U = spectrum.U.rightCols(count).eval();
  spectrum.V = spectrum.V.rightCols(count).eval();
  if (!spectrum.group.empty())
    spectrum.group.erase(spectrum.group.begin(), spectrum.group.begin() + first);
}

Spectrum block_diagonal_svd(const Eigen::MatrixXd& M, std::int64_t blocks,
                            std::optional<std::int64_t> max_rank, SvdPrecision precision) {
  if (blocks < 1 || M.rows() % blocks != 0 || M.cols() % blocks != 0)
    throw std::invalid_argument("block_diagonal_svd: " + std::to_string(blocks) +
                                " blocks do not divide a " + std::to_string(M.rows()) + "x" +
                                std::to_string(M.cols()) + " matrix");
  const Eigen::Index rows = M.rows() / blocks, cols = M.cols() / blocks;
  std::vector<Spectrum> parts;
  Eigen::Index total = 0;
  for (Eigen::Index b = 0; b < blocks; ++b) {
    parts.push_back(thin_svd(M.block(b * rows, b * cols, rows, cols), {}, precision));
    total += parts.back().s.size();
  }
  // (block, index in block) of every triplet, by decreasing s; a stable sort keeps the block
  // order, then the block's own order, for equal values.
  std::vector<std::pair<Eigen::Index, Eigen::Index>> order;
  for (Eigen::Index b = 0; b < blocks; ++b)
    for (Eigen::Index k = 0; k < parts[static_cast<std::size_t>(b)].s.size(); ++k)
      order.emplace_back(b, k);
  std::stable_sort(order.begin(), order.end(), [&](const auto& x, const auto& y) {
    return parts[static_cast<std::size_t>(x.first)].s[x.second] >
           parts[static_cast<std::size_t>(y.first)].s[y.second];
  });
  Spectrum out;
  out.s.resize(total);
  out.U = Eigen::MatrixXd::Zero(M.rows(), total);
  out.V = Eigen::MatrixXd::Zero(M.cols(), total);
  out.group.resize(static_cast<std::size_t>(total));
  for (Eigen::Index k = 0; k < total; ++k) {
    const auto [b, i] = order[static_cast<std::size_t>(k)];
    const Spectrum& part = parts[static_cast<std::size_t>(b)];
    out.s[k] = part.s[i];
    out.U.block(b * rows, k, rows, 1) = part.U.col(i);
    out.V.block(b * cols, k, cols, 1) = part.V.col(i);
    out.group[static_cast<std::size_t>(k)] = static_cast<int>(b);
  }
  truncate(out, max_rank);
  return out;
}

}  // namespace svr
