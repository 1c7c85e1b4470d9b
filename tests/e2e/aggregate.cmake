# `svr aggregate` end to end (included by tests/e2e/CMakeLists.txt): svr on both example CNNs
# into OUTROOT/0-... and OUTROOT/1-..., then the tables checked against each summary.json and
# edges.csv, the plots parsed, --strict and a malformed summary.json (check_aggregate.py).
add_test(NAME e2e.aggregate.digits
  COMMAND ${SVR_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/check_aggregate.py --svr $<TARGET_FILE:svr>
          ${PROJECT_SOURCE_DIR}/examples/digits_cnn_bn.safetensors
          ${PROJECT_SOURCE_DIR}/examples/digits_cnn_plain.safetensors)
set_tests_properties(e2e.aggregate.digits PROPERTIES LABELS e2e TIMEOUT 300
  ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OPENBLAS_NUM_THREADS=1;OMP_NUM_THREADS=1")
