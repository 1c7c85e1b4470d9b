# Spack recipe for svr: copy this directory into a Spack repository of your own
# (`spack repo create myrepo && cp -r packaging/spack/svr myrepo/packages/`, `spack repo add
# myrepo`), then `spack install svr ^openmpi ^openblas` (or the site's MPI and BLAS). MPI is
# found by CMake's FindMPI on the PATH Spack sets; BLAS, LAPACK and ScaLAPACK are passed exactly.
# Checked without Spack by tests/packaging/check_spack_recipe.py (the class, the dependencies,
# and that every CMake variable it passes is one CMakeLists.txt reads).

from spack.package import *


class Svr(CMakePackage):
    """The Singular Value Representation of trained neural networks (Meller and Berkouk,
    arXiv:2302.08183): the SVD of every layer on MPI ranks (LAPACK, ScaLAPACK teams), the
    spectral connections between consecutive layers and their significance, written as a
    graph."""

    homepage = "https://arxiv.org/abs/2302.08183"
    git = "https://example.org/svr.git"  # replace with your site's mirror of the repository

    version("main", branch="main")

    variant("tests", default=False, description="Build and run the test suite (GoogleTest)")

    depends_on("cmake@3.18:", type="build")
    depends_on("mpi")
    depends_on("blas")
    depends_on("lapack")
    depends_on("scalapack")
    depends_on("eigen@3.3:")
    depends_on("boost@1.74:+program_options")
    depends_on("nlohmann-json@3.9:")
    depends_on("protobuf")  # ONNX models: the ModelProto classes of onnx's libonnx_proto
    depends_on("onnx")
    depends_on("python@3:", type=("build", "run"))  # the man page, scripts/export_topology.py
    depends_on("googletest", type="test")
    depends_on("py-numpy", type="test")  # the NumPy oracle of the end-to-end tests
    depends_on("py-scipy", type="test")

    def cmake_args(self):
        spec = self.spec
        return [
            self.define("SVR_BUILD_TESTS", self.run_tests or spec.satisfies("+tests")),
            self.define("BLAS_LIBRARIES", spec["blas"].libs.joined(";")),
            self.define("LAPACK_LIBRARIES", spec["lapack"].libs.joined(";")),
            self.define("SCALAPACK_LIBRARIES", spec["scalapack"].libs.joined(";")),
        ]
