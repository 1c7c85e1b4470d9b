# svr_add_module(NAME [MODULES m...] [LIBS lib...]): static library svr_NAME from src/NAME/*.cpp.
# Its public headers are include/svr/NAME/; the target exposes that folder alone (through a view
# in the build tree holding only svr/NAME), and the folders of the modules listed in MODULES,
# which it links. A source that includes a module it does not link therefore fails to compile,
# and tests/structure/check_layout.py reports it by name. src/NAME/ itself is a private include
# folder (the module's private headers, e.g. src/linalg/imports.hpp).
function(svr_add_module name)
  cmake_parse_arguments(arg "" "" "MODULES;LIBS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.cpp)
  if(NOT sources)
    message(FATAL_ERROR "svr_add_module(${name}): no sources in src/${name}/")
  endif()
  set(view ${PROJECT_BINARY_DIR}/module_views/${name})
  file(MAKE_DIRECTORY ${view}/svr)
  if(NOT EXISTS ${view}/svr/${name})
    file(CREATE_LINK ${PROJECT_SOURCE_DIR}/include/svr/${name} ${view}/svr/${name} SYMBOLIC)
  endif()
  add_library(svr_${name} STATIC ${sources})
  target_include_directories(svr_${name} PUBLIC ${view} PRIVATE ${PROJECT_SOURCE_DIR}/src/${name})
  target_compile_options(svr_${name} PRIVATE -Wall -Wextra -Wpedantic)
  target_compile_definitions(svr_${name} PUBLIC SVR_VERSION="${PROJECT_VERSION}")
  set(modules)
  foreach(module IN LISTS arg_MODULES)
    list(APPEND modules svr_${module})
  endforeach()
  target_link_libraries(svr_${name} PUBLIC ${modules} ${arg_LIBS})
  # The declared module graph, for the layout test: one "NAME: m1 m2" line per module.
  string(REPLACE ";" " " deps "${arg_MODULES}")
  set_property(GLOBAL APPEND PROPERTY SVR_MODULE_GRAPH "${name}: ${deps}")
endfunction()

# svr_write_module_graph(FILE): writes the graph declared by svr_add_module, one
# "module: dependency dependency" line per module, for tests/structure/check_layout.py.
function(svr_write_module_graph file)
  get_property(graph GLOBAL PROPERTY SVR_MODULE_GRAPH)
  set(text "")
  foreach(entry IN LISTS graph)
    string(APPEND text "${entry}\n")
  endforeach()
  file(WRITE ${file} "${text}")
endfunction()

# svr_test_precompiled_headers(TARGET FAMILY): GoogleTest and Eigen, which every test file parses
# (about 2 s of its compile time), as one precompiled header per FAMILY (unit, mpi): the first
# target of a family builds it and the others reuse it. The targets of a family have the same
# definitions and options, which a precompiled header needs (clang refuses one built otherwise).
function(svr_test_precompiled_headers target family)
  get_property(owner GLOBAL PROPERTY SVR_PCH_OWNER_${family})
  if(owner)
    target_precompile_headers(${target} REUSE_FROM ${owner})
  else()
    target_precompile_headers(${target} PRIVATE <gtest/gtest.h> <Eigen/Dense>)
    set_property(GLOBAL PROPERTY SVR_PCH_OWNER_${family} ${target})
  endif()
endfunction()

# svr_add_unit_tests(MODULE LIBS...): one GoogleTest binary unit_MODULE from tests/unit/MODULE/*.cpp,
# each test registered with ctest (label "unit"). Every binary links svr_test_support, the shared
# test helpers (tests/support/).
function(svr_add_unit_tests module)
  file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/unit/${module}/*.cpp)
  if(NOT sources)
    return()
  endif()
  add_executable(unit_${module} ${sources})
  target_link_libraries(unit_${module} PRIVATE ${ARGN} svr_test_support GTest::gtest
                        GTest::gtest_main)
  target_compile_definitions(unit_${module} PRIVATE
    SVR_TEST_DATA_DIR="${PROJECT_SOURCE_DIR}/tests/data"
    SVR_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  svr_test_precompiled_headers(unit_${module} unit)
  gtest_discover_tests(unit_${module} PROPERTIES LABELS unit DISCOVERY_TIMEOUT 60)
endfunction()

# The cores of the configuring machine, counted once, for svr_add_mpi_test's time limits.
include(ProcessorCount)
ProcessorCount(svr_cores)
if(svr_cores LESS 1)
  set(svr_cores 1)
endif()

# svr_add_mpi_test(NAME COMMAND cmd... PROCS n1 n2 ... [TIMEOUT seconds] [LABELS l...]): the same
# command under mpiexec -n N for every N, registered as NAME.npN with label "mpi" (and LABELS).
# Runs oversubscribed, so N may exceed the cores, as root where needed (the tests only: users on
# clusters are not root), one BLAS thread per rank. TIMEOUT (default 120 s) is per run, times
# ceil(N / cores) when N ranks oversubscribe the cores: a hang in a collective is a failure, not a
# wait.
function(svr_add_mpi_test name)
  cmake_parse_arguments(arg "" "TIMEOUT" "COMMAND;PROCS;LABELS" ${ARGN})
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 120)
  endif()
  foreach(n IN LISTS arg_PROCS)
    # More ranks than cores take turns (oversubscribed), and on a loaded machine each turn comes
    # later: the limit grows with ranks per core (6 ranks on 2 cores: 3x), so load slows such a
    # test without failing it, and a hang still fails.
    math(EXPR timeout "${arg_TIMEOUT} * ((${n} + ${svr_cores} - 1) / ${svr_cores})")
    add_test(NAME ${name}.np${n}
      COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${n} --oversubscribe ${MPIEXEC_PREFLAGS}
              ${arg_COMMAND} ${MPIEXEC_POSTFLAGS})
    # PROCESSORS N (ctest -j caps it at its level): ctest runs no other test beside one that
    # fills the cores. Ranks that wait in a collective spin, and a rank descheduled for another
    # test's process holds up every other one each time slice: distributed_svd at 4 ranks on 2
    # cores takes 4 s alone and over 3 minutes beside two busy processes.
    set(environment "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OPENBLAS_NUM_THREADS=1;OMP_NUM_THREADS=1")
    if(svr_with_slepc)
      # The test binaries are not next to the plug-in, where svr looks for it.
      list(APPEND environment "SVR_SLEPC_PLUGIN=${PROJECT_BINARY_DIR}/libsvr_slepc.so")
    endif()
    set_tests_properties(${name}.np${n} PROPERTIES LABELS "mpi;${arg_LABELS}" PROCESSORS ${n}
      TIMEOUT ${timeout} ENVIRONMENT "${environment}")
  endforeach()
endfunction()

# svr_add_mpi_gtest(NAME SOURCES src... LIBS lib... PROCS n... [TIMEOUT s] [MAIN file]): a
# GoogleTest binary mpi_NAME with the MPI-aware main of tests/mpi (failures printed by the rank
# that saw them, a non-zero exit on every rank if any rank failed), registered through
# svr_add_mpi_test as mpi.NAME.npN. MAIN replaces that main (a binary that initialises MPI
# itself).
function(svr_add_mpi_gtest name)
  cmake_parse_arguments(arg "" "TIMEOUT;MAIN" "SOURCES;LIBS;PROCS" ${ARGN})
  if(NOT arg_MAIN)
    set(arg_MAIN ${PROJECT_SOURCE_DIR}/tests/mpi/mpi_main.cpp)
  endif()
  add_executable(mpi_${name} ${arg_MAIN} ${arg_SOURCES})
  target_link_libraries(mpi_${name} PRIVATE ${arg_LIBS} svr_parallel svr_test_support GTest::gtest
                        MPI::MPI_CXX)
  target_compile_options(mpi_${name} PRIVATE -Wall -Wextra)
  target_compile_definitions(mpi_${name} PRIVATE SVR_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  svr_test_precompiled_headers(mpi_${name} mpi)
  set(timeout)
  if(arg_TIMEOUT)
    set(timeout TIMEOUT ${arg_TIMEOUT})
  endif()
  svr_add_mpi_test(mpi.${name} COMMAND $<TARGET_FILE:mpi_${name}> PROCS ${arg_PROCS} ${timeout})
endfunction()
