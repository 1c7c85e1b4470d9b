# A Debian package of what `cmake --install` installs, for machines where apt is the way
# software arrives (a workstation, a cloud image, a container):
#
#   cpack --config build/CPackConfig.cmake -G DEB -B OUT   ->  OUT/svr_VERSION_ARCH.deb
#   dpkg -i OUT/svr_*.deb; apt-get -f install               (apt brings the runtime libraries)
#
# The shared libraries svr is linked with become Depends through dpkg-shlibdeps (dpkg-dev), so
# the package asks for the MPI, ScaLAPACK, BLAS/LAPACK and Boost runtime packages of the machine
# it was built on. scripts/check-deb.sh installs it with dpkg and apt and runs the example;
# tests/packaging/check_deb.py inspects it without installing (docs/install.md).
# cpack (and `make install`) install what is built and never build first: cpack's "preinstall"
# step would otherwise relink svr in a stale tree while ctest runs it (packaging.deb runs beside
# the other tests). Build, then package.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY TRUE)
set(CPACK_PACKAGE_NAME svr)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "svr developers")
set(CPACK_PACKAGE_CONTACT "svr developers <svr@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Singular Value Representation of trained neural networks, distributed with MPI")
set(CPACK_PACKAGE_DESCRIPTION
    "svr computes the Singular Value Representation (SVR) of a trained network: the SVD of every \
layer's weights (LAPACK, or ScaLAPACK on teams of MPI ranks), the spectral connections of \
consecutive layers and their significance against a random-direction null. It writes the graph \
as CSV, JSON and GraphML, with plots and a report.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# mpiexec and orted (a singleton run starts one) come from openmpi-bin, not from the library.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "openmpi-bin")
# svr-export-topology traces PyTorch models; the Slurm scripts need a cluster's client tools.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "python3, python3-numpy")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "python3-torch, slurm-client, lmod")
include(CPack)
