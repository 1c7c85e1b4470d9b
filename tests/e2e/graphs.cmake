# Networks that are graphs (spec section 7, --topology; issue 11): svr against the NumPy oracle
# on the fixtures of tests/data/graph (residual adds, concatenations, splits, a channel shuffle,
# chw and hwc flattens; made by tests/data/make_graph_fixtures.py), at every process count,
# with LAPACK and with every layer forced onto ScaLAPACK (the channel maps then go through the
# distributed redistribution), with every edge and with the significant ones only; and bad
# topology files. Included by tests/e2e/CMakeLists.txt.
set(graph ${PROJECT_SOURCE_DIR}/tests/data/graph)

foreach(model resnet_tiny densenet_tiny branches_tiny grouped_tiny random_tiny)
  set(files ${graph}/${model}.safetensors --topology ${graph}/${model}.json)
  foreach(np 1 2 3 4)
    svr_e2e(graph.${model}.np${np} ${np} oracle ${files})
  endforeach()
  foreach(np 2 3 4)
    svr_e2e(graph.scalapack.${model}.np${np} ${np} --e-atol 1e-10 oracle ${files}
      --scalapack-min-dim 1 --block-size 3)
  endforeach()
  svr_e2e(graph.one_grid.${model}.np4 4 --e-atol 1e-10 oracle ${files} --scalapack-min-dim 1
    --block-size 2 --max-grids 1)
  svr_e2e(graph.significant_only.${model} 2 --significant-only oracle ${files})
endforeach()
# A split layer in a graph: resnet_tiny's layer2.0.conv2 (16 x 144, 54 % of the cost) on a
# team of both ranks, its core on rank 0.
svr_e2e(graph.split.resnet_tiny.np2 2 --e-atol 1e-10 --expect-svd scalapack-qr-lapack=1 oracle
  ${graph}/resnet_tiny.safetensors --topology ${graph}/resnet_tiny.json --split-min-dim 16
  --block-size 3)
svr_e2e(graph.branches_hwc_override 2 oracle ${graph}/branches_tiny.safetensors
  --topology ${graph}/branches_tiny.json --flatten-order hwc)
svr_e2e(graph.resnet_ignore_bn 0 oracle ${graph}/resnet_tiny.safetensors
  --topology ${graph}/resnet_tiny.json --batchnorm ignore)
svr_e2e(graph.resnet_holm_pair 0 oracle ${graph}/resnet_tiny.safetensors
  --topology ${graph}/resnet_tiny.json --correction holm --fdr-scope pair)
svr_e2e(graph.densenet_sigma 3 oracle ${graph}/densenet_tiny.safetensors
  --topology ${graph}/densenet_tiny.json --sigma 2.5)

# Families svr recognises from a state_dict's names and shapes alone (no --topology): the
# tiny torchvision-named ResNet against the oracle on the topology svr exports, from .pth and
# .safetensors; and every torchvision family of tests/data/families (ResNet-18 to 152, ResNeXt,
# Wide-ResNet, DenseNet-121, MobileNetV2/V3, EfficientNet-B0, VGG-BN, Inception-v3) recognised
# with exactly the topology scripts/export_topology.py traces from the torchvision model.
foreach(np 1 3)
  svr_e2e(graph.recognised.resnet_tiny.np${np} ${np} --recognised oracle ${vgg}/resnet_tiny.safetensors)
endforeach()
svr_e2e(graph.recognised.resnet_tiny.formats 2 same ${vgg}/resnet_tiny.pth ${vgg}/resnet_tiny.safetensors)
add_test(NAME topology.recogniser COMMAND ${SVR_PYTHON}
  ${PROJECT_SOURCE_DIR}/tests/topology/check_recogniser.py $<TARGET_FILE:svr>
  ${PROJECT_SOURCE_DIR}/tests/data/families)
set_tests_properties(topology.recogniser PROPERTIES LABELS e2e TIMEOUT 600)

# torchvision's ResNet-18, MobileNetV2 and DenseNet-121 with random weights, made in the test
# by tests/data/families/random_weights.py (torchvision's initialisation laws, NumPy only) and
# recognised from their names: svr against the oracle on every edge (2.5M, 2.4M and 6.0M), and
# random weights give about 5 % raw p < 0.05 in every pair and no discovery.
set(torchvision_random ${CMAKE_CURRENT_BINARY_DIR}/torchvision_random)
set(np_resnet18 2)
set(np_mobilenet_v2 3)
set(np_densenet121 4)
foreach(arch resnet18 mobilenet_v2 densenet121)
  set(model ${torchvision_random}/${arch}.safetensors)
  add_test(NAME e2e.make_torchvision_random.${arch} COMMAND ${SVR_PYTHON}
    ${PROJECT_SOURCE_DIR}/tests/data/families/random_weights.py
    ${PROJECT_SOURCE_DIR}/tests/data/families ${arch} ${model})
  set_tests_properties(e2e.make_torchvision_random.${arch} PROPERTIES
    FIXTURES_SETUP torchvision_random_${arch} LABELS e2e)
  svr_e2e(graph.torchvision_random.${arch}.np${np_${arch}} ${np_${arch}} --recognised
    --calibrated oracle ${model})
  # COST: ctest starts the longest tests first on a fresh clone (no timing data yet), so that
  # they do not run alone at the end of `ctest -j` (DenseNet-121 takes about 3 minutes).
  set_tests_properties(e2e.graph.torchvision_random.${arch}.np${np_${arch}} PROPERTIES
    FIXTURES_REQUIRED torchvision_random_${arch} TIMEOUT 1500 COST 1000)
endforeach()

# Bad topology files: one line naming the file, the layer and the problem; no OUTDIR.
set(bad ${graph}/bad)
svr_bad(topology_cycle ${graph}/resnet_tiny.safetensors EXPECT cycle.json conv1.weight
  "not listed before it" OPTIONS --topology ${bad}/cycle.json)
svr_bad(topology_unknown_layer ${graph}/resnet_tiny.safetensors EXPECT unknown_layer.json
  layer1.0.conv3.weight "not a tensor" OPTIONS --topology ${bad}/unknown_layer.json)
svr_bad(topology_channel_mismatch ${graph}/resnet_tiny.safetensors EXPECT channel_mismatch.json
  layer2.0.conv2.weight "channel counts do not match" OPTIONS --topology ${bad}/channel_mismatch.json)
svr_bad(topology_overlapping_concat ${graph}/resnet_tiny.safetensors EXPECT overlapping_concat.json
  fc.weight "overlapping reads" OPTIONS --topology ${bad}/overlapping_concat.json)
svr_bad(topology_unknown_kind ${graph}/resnet_tiny.safetensors EXPECT unknown_kind.json conv2dd
  OPTIONS --topology ${bad}/unknown_kind.json)
svr_bad(topology_groups_not_dividing ${graph}/resnet_tiny.safetensors EXPECT groups_not_dividing.json
  "groups 3 do not divide" OPTIONS --topology ${bad}/groups_not_dividing.json)
svr_bad(topology_flatten_not_dividing ${graph}/resnet_tiny.safetensors
  EXPECT flatten_not_dividing.json fc.weight "does not divide its 16 input features"
  OPTIONS --topology ${bad}/flatten_not_dividing.json)
svr_bad(topology_schema ${graph}/resnet_tiny.safetensors EXPECT missing_format.json svr-topology
  OPTIONS --topology ${bad}/missing_format.json)
svr_bad(topology_not_json ${graph}/resnet_tiny.safetensors EXPECT not_json.json "invalid JSON"
  OPTIONS --topology ${bad}/not_json.json)
svr_bad(topology_missing_file ${graph}/resnet_tiny.safetensors EXPECT no_such.json
  "cannot read the topology file" OPTIONS --topology ${bad}/no_such.json)
# cosvr has no channel maps nor grouped convolutions: refused with one line.
svr_bad(topology_grouped_cosvr ${graph}/grouped_tiny.safetensors EXPECT grouped_tiny.json
  "method cosvr" OPTIONS --topology ${graph}/grouped_tiny.json --method cosvr)
# Random weights on every kind of pair (adds, concats, splits, a shuffle, both flattens, grouped
# and depthwise layers on either side): raw p-values calibrated per pair, no discovery.
foreach(np 1 3)
  svr_e2e(graph.calibrated.random_tiny.np${np} ${np} calibrated ${graph}/random_tiny.safetensors
    --topology ${graph}/random_tiny.json)
endforeach()

# The JSON Schema file validates every topology file the repository ships, and refuses the one
# that breaks it (python3-jsonschema).
add_test(NAME e2e.topology_schema COMMAND ${SVR_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/check_topology_schema.py
  ${PROJECT_SOURCE_DIR}/docs/topology.schema.json ${graph})
set_tests_properties(e2e.topology_schema PROPERTIES LABELS e2e)

# The trained graph examples of examples/ (scripts/train_examples.py: a ResNet with batch norm,
# a MobileNetV2-style net (depthwise convolutions) and a DenseNet-style net on the digits data
# set, their topology files written by
# scripts/export_topology.py) against the oracle at every process count, and the same SVR from
# the .pth and the .safetensors file.
foreach(model digits_resnet_bn digits_densenet digits_mobilenet)
  set(files ${examples}/${model}.safetensors --topology ${examples}/${model}.topology.json)
  foreach(np 1 2 3 4)
    svr_e2e(graph.example.${model}.np${np} ${np} oracle ${files})
  endforeach()
  svr_e2e(graph.example.${model}.formats 2 same ${examples}/${model}.pth
    ${examples}/${model}.safetensors -- --topology ${examples}/${model}.topology.json)
endforeach()

# The two examples with torchvision names (digits_resnet_bn: ResNet; digits_mobilenet:
# MobileNetV2) need no topology file: svr recognises from their names the topology the exporter
# traced, and its SVR matches the oracle's.
add_test(NAME topology.recogniser.examples COMMAND ${SVR_PYTHON}
  ${PROJECT_SOURCE_DIR}/tests/topology/check_recogniser.py $<TARGET_FILE:svr> --model
  ${examples}/digits_resnet_bn.safetensors ${examples}/digits_resnet_bn.topology.json
  ${examples}/digits_mobilenet.safetensors ${examples}/digits_mobilenet.topology.json
  ${examples}/digits_resnet_bn.pth ${examples}/digits_resnet_bn.topology.json)
set_tests_properties(topology.recogniser.examples PROPERTIES LABELS e2e)
# --plan names the network and where it comes from (a CMake argument cannot hold ";").
svr_e2e(plan.recognised_resnet 2
  --expect "network: torchvision ResNet, recognised from the names" --expect "9 layers, 13 pairs (add 9, direct 4)"
  --expect "layer2.0.downsample.0.weight -> layer2.1.conv1.weight (add)"
  plan ${examples}/digits_resnet_bn.safetensors)
svr_e2e(plan.topology_densenet 1
  --expect "network: a graph from the topology file ${examples}/digits_densenet.topology.json"
  --expect "9 layers, 20 pairs (concat 18, direct 2)"
  plan ${examples}/digits_densenet.safetensors --topology ${examples}/digits_densenet.topology.json)
foreach(model digits_resnet_bn digits_mobilenet)
  foreach(np 1 3)
    svr_e2e(graph.example.${model}.recognised.np${np} ${np} --recognised oracle
      ${examples}/${model}.safetensors)
  endforeach()
endforeach()

# --min-rank on a graph with depthwise (grouped) convolutions: each layer's bottom K of the
# blocks' spectra, numbered from rank - K.
svr_e2e(graph.example.digits_mobilenet.min_rank 2 --recognised oracle
  ${examples}/digits_mobilenet.safetensors --min-rank 3)

# scripts/export_topology.py on torchvision's families and on small modules (needs torch and
# torchvision, scripts/install-deps.sh --with-torch; skipped, and reported as such, without).
add_test(NAME topology.export COMMAND ${SVR_PYTHON} -m unittest -v test_export_topology
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/tests/topology)
set_tests_properties(topology.export PROPERTIES LABELS e2e TIMEOUT 600 COST 500
  SKIP_REGULAR_EXPRESSION "skipped 'torch is not importable'")
