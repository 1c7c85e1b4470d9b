// The top (or, with -svd_smallest, the bottom) K singular triplets of one dense matrix by SLEPc,
// for bench/slepc_compare.py: the comparison the very-wide-layers issue asks for between SLEPc
// and svr's own block Krylov method on ScaLAPACK grids (docs/distributed-svd.md, "SLEPc").
//
//   mpiexec -n P slepc_svd MATRIX.f64 ROWS COLS K ABS_TOL [SLEPc options, e.g. -svd_type cross]
//
// MATRIX.f64: the matrix row-major as little-endian doubles. Each rank reads only the rows PETSc
// gives it (an MPIDENSE matrix, 1-D row blocks). The solver is thick-restart Lanczos
// (SVDTRLANCZOS, SLEPc's recommended one for a few largest triplets) unless -svd_type says
// otherwise, converged to an absolute residual ABS_TOL (the script passes 1e-10 s_max, svr's
// default tolerance). The residual printed is recomputed from the returned vectors as svr
// reports it: max over the triplets of max(||M v - s u||, ||M^T u - s v||), divided by the
// largest value returned (residual) and as it is (residual_abs: the bottom K's largest value is
// not s_max, which the script knows). Any other SLEPc option (a spectral transformation of the
// cross or cyclic solver's eigensolver, say) passes through SVDSetFromOptions.
// Prints one JSON line on rank 0: solver, seconds (SVDSolve alone, between barriers),
// iterations, converged, residual, residual_abs, and the singular values.
#include <fcntl.h>
#include <slepcsvd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

// Reads rows [first, last) of a row-major ROWS x COLS double matrix into PETSc's column-major
// local array (leading dimension lda).
bool read_rows(const char* path, PetscInt first, PetscInt last, PetscInt cols, PetscScalar* local,
               PetscInt lda) {
  const int fd = open(path, O_RDONLY);
  if (fd < 0) return false;
  std::vector<double> row(static_cast<std::size_t>(cols));
  bool ok = true;
  for (PetscInt i = first; i < last && ok; ++i) {
    const std::size_t bytes = row.size() * sizeof(double);
    const off_t offset = static_cast<off_t>(i) * static_cast<off_t>(bytes);
    ok = pread(fd, row.data(), bytes, offset) == static_cast<ssize_t>(bytes);
    for (PetscInt j = 0; j < cols && ok; ++j) local[(i - first) + j * lda] = row[j];
  }
  close(fd);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  PetscCall(SlepcInitialize(&argc, &argv, nullptr, nullptr));
  if (argc < 6) {
    PetscCall(PetscPrintf(PETSC_COMM_WORLD,
                          "usage: slepc_svd MATRIX.f64 ROWS COLS K ABS_TOL [SLEPc options]\n"));
    PetscCall(SlepcFinalize());
    return 2;
  }
  const char* path = argv[1];
  const PetscInt rows = std::atoll(argv[2]), cols = std::atoll(argv[3]), k = std::atoll(argv[4]);
  const PetscReal tol = std::atof(argv[5]);

  Mat A;
  PetscCall(MatCreateDense(PETSC_COMM_WORLD, PETSC_DECIDE, PETSC_DECIDE, rows, cols, nullptr, &A));
  PetscInt first = 0, last = 0, lda = 0;
  PetscCall(MatGetOwnershipRange(A, &first, &last));
  PetscScalar* local = nullptr;
  PetscCall(MatDenseGetLDA(A, &lda));
  PetscCall(MatDenseGetArray(A, &local));
  const int read_ok = read_rows(path, first, last, cols, local, lda) ? 1 : 0;
  PetscCall(MatDenseRestoreArray(A, &local));
  int all_ok = 0;
  MPI_Allreduce(&read_ok, &all_ok, 1, MPI_INT, MPI_MIN, PETSC_COMM_WORLD);
  if (!all_ok) {
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "slepc_svd: cannot read %s\n", path));
    PetscCall(MatDestroy(&A));
    PetscCall(SlepcFinalize());
    return 1;
  }
  PetscCall(MatAssemblyBegin(A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(A, MAT_FINAL_ASSEMBLY));

  SVD svd;
  PetscCall(SVDCreate(PETSC_COMM_WORLD, &svd));
  PetscCall(SVDSetOperators(svd, A, nullptr));
  PetscCall(SVDSetProblemType(svd, SVD_STANDARD));
  PetscCall(SVDSetType(svd, SVDTRLANCZOS));
  PetscCall(SVDSetWhichSingularTriplets(svd, SVD_LARGEST));
  PetscCall(SVDSetDimensions(svd, k, PETSC_DEFAULT, PETSC_DEFAULT));
  PetscCall(SVDSetTolerances(svd, tol, 100000));
  PetscCall(SVDSetConvergenceTest(svd, SVD_CONV_ABS));
  PetscCall(SVDSetFromOptions(svd));
  SVDType type;
  PetscCall(SVDGetType(svd, &type));

  MPI_Barrier(PETSC_COMM_WORLD);
  const double start = MPI_Wtime();
  PetscCall(SVDSolve(svd));
  MPI_Barrier(PETSC_COMM_WORLD);
  const double seconds = MPI_Wtime() - start;

  PetscInt iterations = 0, converged = 0;
  PetscCall(SVDGetIterationNumber(svd, &iterations));
  PetscCall(SVDGetConverged(svd, &converged));
  Vec u, v, left, right;
  PetscCall(MatCreateVecs(A, &v, &u));
  PetscCall(VecDuplicate(u, &left));
  PetscCall(VecDuplicate(v, &right));
  std::vector<PetscReal> sigma;
  PetscReal residual = 0.0;
  for (PetscInt i = 0; i < std::min(converged, k); ++i) {
    PetscReal s = 0.0, left_norm = 0.0, right_norm = 0.0;
    PetscCall(SVDGetSingularTriplet(svd, i, &s, u, v));
    PetscCall(MatMult(A, v, left));  // M v - s u
    PetscCall(VecAXPY(left, -s, u));
    PetscCall(VecNorm(left, NORM_2, &left_norm));
    PetscCall(MatMultTranspose(A, u, right));  // M^T u - s v
    PetscCall(VecAXPY(right, -s, v));
    PetscCall(VecNorm(right, NORM_2, &right_norm));
    sigma.push_back(s);
    residual = std::max(residual, std::max(left_norm, right_norm));
  }
  const PetscReal residual_abs = residual;
  if (!sigma.empty()) residual /= *std::max_element(sigma.begin(), sigma.end());

  std::string values;
  for (std::size_t i = 0; i < sigma.size(); ++i) {
    char text[40];
    std::snprintf(text, sizeof text, "%s%.17g", i ? ", " : "", static_cast<double>(sigma[i]));
    values += text;
  }
  int ranks = 1;
  MPI_Comm_size(PETSC_COMM_WORLD, &ranks);
  PetscCall(
      PetscPrintf(PETSC_COMM_WORLD,
                  "{\"solver\": \"%s\", \"ranks\": %d, \"seconds\": %.3f, \"iterations\": %d, "
                  "\"converged\": %d, \"residual\": %.3e, \"residual_abs\": %.3e, "
                  "\"sigma\": [%s]}\n",
                  type, ranks, seconds, static_cast<int>(iterations), static_cast<int>(converged),
                  static_cast<double>(residual), static_cast<double>(residual_abs),
                  values.c_str()));
  PetscCall(VecDestroy(&u));
  PetscCall(VecDestroy(&v));
  PetscCall(VecDestroy(&left));
  PetscCall(VecDestroy(&right));
  PetscCall(SVDDestroy(&svd));
  PetscCall(MatDestroy(&A));
  PetscCall(SlepcFinalize());
  return 0;
}
