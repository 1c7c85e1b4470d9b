# ONNX models (issue 14; docs/input-formats.md, "ONNX"): the example CNN written as ONNX several
# ways (tests/data/onnx/make_onnx_fixtures.py) gives the same SVR as its safetensors, whole on
# each rank and read in blocks onto ScaLAPACK grids (where the MatMul weights are transposed
# views); malformed files give one line naming the file and the tensor. Included by
# tests/e2e/CMakeLists.txt.
set(onnx ${PROJECT_SOURCE_DIR}/tests/data/onnx)
set(onnx_digits ${examples}/digits_cnn_plain.safetensors ${onnx}/digits_cnn_plain.onnx
  ${onnx}/digits_cnn_plain_matmul.onnx ${onnx}/digits_cnn_plain_external.onnx)
svr_e2e(onnx.digits_plain.same 2 same ${onnx_digits})
svr_e2e(onnx.digits_plain.same_scalapack 3 same ${onnx_digits} -- --scalapack-min-dim 1
  --block-size 5)
# BatchNormalization nodes folded into the layer they follow, with the node's epsilon.
svr_e2e(onnx.digits_bn.same 2 same ${examples}/digits_cnn_bn.safetensors
  ${onnx}/digits_cnn_bn.onnx)
svr_e2e(onnx.digits_bn.same_scalapack 3 same ${examples}/digits_cnn_bn.safetensors
  ${onnx}/digits_cnn_bn.onnx -- --scalapack-min-dim 1 --block-size 5)
# Graphs: the residual network gives the graph svr recognises from the safetensors' names; a
# channels-last export (Transpose before the flatten) the SVR of the channel-major original.
svr_e2e(onnx.digits_resnet.same 2 same ${examples}/digits_resnet_bn.safetensors
  ${onnx}/digits_resnet_bn.onnx)
svr_e2e(onnx.digits_resnet.same_scalapack 3 same ${examples}/digits_resnet_bn.safetensors
  ${onnx}/digits_resnet_bn.onnx -- --scalapack-min-dim 1 --block-size 5)
# The dense network's concatenations: its topology file's graph (each read at its offset).
set(densenet_topology
  "${examples}/digits_densenet.safetensors#--topology#${examples}/digits_densenet.topology.json")
svr_e2e(onnx.digits_densenet.same 2 same ${densenet_topology} ${onnx}/digits_densenet.onnx)
svr_e2e(onnx.digits_densenet.same_scalapack 3 same ${densenet_topology}
  ${onnx}/digits_densenet.onnx -- --scalapack-min-dim 1 --block-size 5)
# Depthwise convolutions (group), Clip with constant bounds, residual Adds: its topology's graph.
svr_e2e(onnx.digits_mobilenet.same 2 same
  "${examples}/digits_mobilenet.safetensors#--topology#${examples}/digits_mobilenet.topology.json"
  ${onnx}/digits_mobilenet.onnx)
svr_e2e(onnx.digits_plain.keras 2 same ${examples}/digits_cnn_plain.safetensors
  ${onnx}/digits_cnn_plain_keras.onnx)
# Where the flow from the layers ended, in --plan.
svr_e2e(onnx.plan_flow_end 1 --expect "a graph read from the ONNX model" --expect "3 layers, 1 pair"
  --expect "the flow from the layers ends at node 'bn' (BatchNormalization)"
  plan ${onnx}/batchnorm_after_relu.onnx)
svr_e2e(onnx.plan 1 --expect "a chain read from the ONNX model"
  --expect "classifier.0.weight 128x256" plan ${onnx}/digits_cnn_plain_matmul.onnx)

set(onnx_bad ${onnx}/bad)
svr_bad(onnx_channel_mismatch ${onnx_bad}/channel_mismatch.onnx EXPECT channel_mismatch.onnx
  fc3.weight "channel counts do not match")
svr_bad(onnx_short_raw_data ${onnx_bad}/short_raw_data.onnx EXPECT fc2.weight "92 bytes" "need 96")
svr_bad(onnx_int8_weight ${onnx_bad}/int8_weight.onnx EXPECT fc3.weight INT8)
svr_bad(onnx_missing_external ${onnx_bad}/missing_external.onnx EXPECT fc2.weight no_such.bin
  "cannot be opened")
svr_bad(onnx_escaping_external ${onnx_bad}/escaping_external.onnx EXPECT fc2.weight
  "leaves the model's directory")
svr_bad(onnx_cycle ${onnx_bad}/cycle.onnx EXPECT cycle.onnx "node 'fc1' (Gemm)" "cycle")
svr_bad(onnx_truncated ${onnx_bad}/truncated.onnx EXPECT truncated.onnx "runs past its end")
svr_bad(onnx_garbage ${onnx_bad}/garbage.onnx EXPECT garbage.onnx "not a valid ONNX model")

# The example exported by torch.onnx itself, when torch is installed (its names are the
# state_dict's, its linear layers Gemm with transB=1).
add_test(NAME e2e.onnx.torch_export COMMAND ${SVR_PYTHON}
  ${CMAKE_CURRENT_SOURCE_DIR}/torch_onnx_export.py --svr $<TARGET_FILE:svr> --np 2
  ${examples}/digits_cnn_plain.safetensors)
set_tests_properties(e2e.onnx.torch_export PROPERTIES LABELS "e2e;mpi" ENVIRONMENT "${e2e_env}"
  TIMEOUT 600 SKIP_REGULAR_EXPRESSION "skipped 'torch is not importable'")
