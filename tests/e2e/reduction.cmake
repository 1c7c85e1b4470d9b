# The distributed reduction (issue 3): E of each pair stays on its owner rank, rank 0 gets the
# per-pair results and the candidate edges, the path metric travels from owner to owner, and
# adjacency.safetensors is written by every owner into one file. Results must not change.
# Included from CMakeLists.txt (svr_e2e, examples, vgg, e2e_env are defined there).

set(reduction_check ${CMAKE_CURRENT_SOURCE_DIR}/reduction_check.py)
# reduction_check(NAME NP ARGS...): reduction_check.py under mpiexec -n NP (see its docstring).
function(reduction_check name np)
  add_test(NAME e2e.reduction.${name} COMMAND ${SVR_PYTHON} ${reduction_check}
    --svr $<TARGET_FILE:svr> --np ${np} ${ARGN})
  set_tests_properties(e2e.reduction.${name} PROPERTIES LABELS "e2e;mpi" ENVIRONMENT "${e2e_env}"
    TIMEOUT 600)
endfunction()

# --save-adjacency and --save-spectra against the oracle with factors on a grid (every pair on
# the grid, block size 3), mixed LAPACK/ScaLAPACK pairs (point-to-point factor, grid pairs
# delivered to a LAPACK rank), cosvr, and --max-rank on grid factors. E tolerance 1e-10 on
# vgg_bn: its classifier.0 has nearly equal singular values (CMakeLists.txt, ScaLAPACK section),
# which make E of two neurons depend on the LAPACK build at the 1e-12 level.
reduction_check(adjacency_scalapack.np3 3 --e-atol 1e-10 ${examples}/digits_cnn_bn.safetensors
  --scalapack-min-dim 1 --block-size 3)
reduction_check(adjacency_vgg_mixed.np3 3 --e-atol 1e-10 ${vgg}/vgg_bn.safetensors
  --scalapack-min-dim 20 --block-size 4)
reduction_check(adjacency_lapack.np4 4 --e-atol 1e-10 ${vgg}/vgg_bn.safetensors)
reduction_check(adjacency_cosvr.np3 3 --e-atol 1e-10 ${examples}/digits_cnn_bn.safetensors
  --method cosvr --fdr-scope pair --scalapack-min-dim 20)
reduction_check(adjacency_max_rank.np2 2 --e-atol 1e-10 ${examples}/digits_cnn_bn.safetensors
  --scalapack-min-dim 1 --max-rank 8)
# spectra.safetensors written by the ranks of one grid of all ranks (1x3, 2x2), each its own
# blocks of U and V, with the signs agreed over the grid.
foreach(np 3 4)
  reduction_check(spectra_one_grid.np${np} ${np} --e-atol 1e-10 ${vgg}/vgg_bn.safetensors
    --scalapack-min-dim 1 --block-size 3 --max-grids 1)
endforeach()
reduction_check(significant_only_adjacency.np3 3 --significant-only --e-atol 1e-10
  ${vgg}/vgg_bn.safetensors --scalapack-min-dim 1 --block-size 3)

# The correction from candidate edges only (p <= alpha) and the family size, per pair and over
# the network, against the oracle's correction over every edge.
svr_e2e(reduction.pair_scope.np4 4 oracle ${examples}/digits_cnn_plain.safetensors --fdr-scope pair)
svr_e2e(reduction.pair_scope_significant_only.np4 4 --significant-only oracle
  ${examples}/digits_cnn_plain.safetensors --fdr-scope pair)
foreach(correction bh by holm bonferroni)
  svr_e2e(reduction.${correction}_significant_only.np3 3 --significant-only --e-atol 1e-10
    oracle ${examples}/digits_cnn_plain.safetensors --correction ${correction}
    --scalapack-min-dim 1 --block-size 3)
endforeach()
svr_e2e(reduction.sigma_significant_only.np3 3 --significant-only oracle
  ${vgg}/vgg_bn.safetensors --sigma 2)
# Every edge reported (exact q for all) at 3 ranks, LAPACK pairs moving factors between ranks.
svr_e2e(reduction.all_edges.np3 3 --e-atol 1e-10 oracle ${vgg}/vgg_bn.safetensors)

# More ranks than layers: some ranks own no layer and no pair and only take part in the
# collectives (and the grid, when forced).
svr_e2e(reduction.more_ranks_than_layers.np7 7 oracle ${examples}/digits_cnn_bn.safetensors)
svr_e2e(reduction.more_ranks_than_layers_scalapack.np6 6 --e-atol 1e-10 oracle
  ${examples}/digits_cnn_bn.safetensors --scalapack-min-dim 1 --block-size 3)
reduction_check(more_ranks_than_layers_adjacency.np6 6 ${examples}/digits_cnn_bn.safetensors)

# --plan lists who holds each pair's E.
svr_e2e(reduction.plan_pairs 3 --expect "pair 1/6" --expect "(ScaLAPACK grid)"
  --expect "from rank" plan ${vgg}/vgg_bn.safetensors --scalapack-min-dim 20)

# --all-edges: the correction runs across the pairs' owners (a sort of every tested p over the
# ranks) and each owner writes its rows of edges.csv with MPI-IO; the q are the one-rank values
# to the last bit, so edges.csv is the same file at every process count (network BH on a graph
# with untestable edges, and Holm per pair on a chain).
foreach(case "bh_graph;${examples}/digits_resnet_bn.safetensors;--all-edges"
             "holm_pair;${vgg}/vgg_bn.safetensors;--all-edges;--correction;holm;--fdr-scope;pair")
  list(POP_FRONT case name model)
  add_test(NAME e2e.reduction.all_edges_same_bytes.${name} COMMAND ${SVR_PYTHON}
    ${CMAKE_CURRENT_SOURCE_DIR}/check_same_bytes.py --svr $<TARGET_FILE:svr> --np 1,2,4
    ${model} ${case})
  set_tests_properties(e2e.reduction.all_edges_same_bytes.${name} PROPERTIES LABELS "e2e;mpi"
    ENVIRONMENT "${e2e_env}" TIMEOUT 300)
endforeach()
