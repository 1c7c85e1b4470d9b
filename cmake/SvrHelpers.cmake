# svr_add_module(NAME): static library svr_NAME from src/NAME/*.cpp, public headers in include/.
function(svr_add_module name)
  file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.cpp)
  if(NOT sources)  # a module still being written: headers only
    add_library(svr_${name} INTERFACE)
    target_include_directories(svr_${name} INTERFACE ${PROJECT_SOURCE_DIR}/include)
    return()
  endif()
  add_library(svr_${name} STATIC ${sources})
  target_include_directories(svr_${name} PUBLIC ${PROJECT_SOURCE_DIR}/include)
  target_compile_options(svr_${name} PRIVATE -Wall -Wextra -Wpedantic)
  target_compile_definitions(svr_${name} PUBLIC SVR_VERSION="${PROJECT_VERSION}")
endfunction()

# svr_add_unit_tests(MODULE LIBS...): one GoogleTest binary unit_MODULE from tests/unit/MODULE/*.cpp,
# each test registered with ctest (label "unit").
function(svr_add_unit_tests module)
  file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/unit/${module}/*.cpp)
  if(NOT sources)
    return()
  endif()
  add_executable(unit_${module} ${sources})
  target_link_libraries(unit_${module} PRIVATE ${ARGN} GTest::gtest GTest::gtest_main)
  target_compile_definitions(unit_${module} PRIVATE
    SVR_TEST_DATA_DIR="${PROJECT_SOURCE_DIR}/tests/data"
    SVR_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  gtest_discover_tests(unit_${module} PROPERTIES LABELS unit DISCOVERY_TIMEOUT 60)
endfunction()

# svr_add_mpi_test(NAME COMMAND... PROCS n1 n2 ...): the same command under mpiexec -n N for every
# N, registered as NAME.npN with label "mpi". Runs oversubscribed so N may exceed the cores.
function(svr_add_mpi_test name)
  cmake_parse_arguments(arg "" "" "COMMAND;PROCS" ${ARGN})
  foreach(n IN LISTS arg_PROCS)
    add_test(NAME ${name}.np${n}
      COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${n} --oversubscribe ${MPIEXEC_PREFLAGS}
              ${arg_COMMAND} ${MPIEXEC_POSTFLAGS})
    set_tests_properties(${name}.np${n} PROPERTIES LABELS mpi PROCESSORS 1
      ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OPENBLAS_NUM_THREADS=1;OMP_NUM_THREADS=1")
  endforeach()
endfunction()

# svr_link(TARGET LIBS...): PUBLIC link for a static module, INTERFACE for a headers-only one.
function(svr_link target)
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    target_link_libraries(${target} INTERFACE ${ARGN})
  else()
    target_link_libraries(${target} PUBLIC ${ARGN})
  endif()
endfunction()
