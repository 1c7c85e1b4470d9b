# Hugging Face transformer layouts (issue 14; docs/input-formats.md, "Transformers"): tiny random
# GPT-2, BERT, ViT and Llama models made by make_transformer_models.py, each with a plain twin
# (every layer an (out, in) matrix, each pre-norm gamma multiplied into its readers' columns)
# and the topology file of its pairs, both written from the spec without svr. svr on the
# family's own file must give the oracle's SVR of the twin: the names recognised, GPT-2's Conv1D
# transposed and c_attn split, the embeddings transposed, the gammas folded, the residual
# stream's reads at --residual-reach 1 and all. Included by tests/e2e/CMakeLists.txt.
set(transformers ${CMAKE_CURRENT_BINARY_DIR}/transformers)
set(make_transformer ${SVR_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/make_transformer_models.py)

function(transformer_model name family)
  add_test(NAME e2e.make_transformer.${name} COMMAND ${make_transformer} ${family}
    ${transformers}/${name} ${ARGN})
  set_tests_properties(e2e.make_transformer.${name} PROPERTIES FIXTURES_SETUP transformer_${name}
    LABELS e2e)
endfunction()

# svr on the family's file against the oracle on its twin; DRIVER: svr_e2e.py's own options.
function(transformer_oracle test name np)
  cmake_parse_arguments(arg "" "" "DRIVER;OPTIONS" ${ARGN})
  set(dir ${transformers}/${name})
  svr_e2e(transformer.${test} ${np} --twin "${dir}/twin.safetensors#${dir}/twin.topology.json"
    ${arg_DRIVER} oracle ${dir}/model.safetensors ${arg_OPTIONS})
  set_tests_properties(e2e.transformer.${test} PROPERTIES FIXTURES_REQUIRED transformer_${name})
endfunction()

foreach(family gpt2 bert vit llama llama_gqa)
  transformer_model(${family} ${family})
  transformer_model(${family}_all ${family} --reach all)
  transformer_oracle(${family}.np0 ${family} 0)
  transformer_oracle(${family}.reach_all.np2 ${family}_all 2 OPTIONS --residual-reach all)
endforeach()
transformer_model(gpt2_reach2 gpt2 --reach 2)
transformer_oracle(gpt2.reach2.np3 gpt2_reach2 3 OPTIONS --residual-reach 2)
# Read in blocks onto ScaLAPACK grids: the transposed and split views and the column fold there.
transformer_oracle(gpt2.scalapack.np3 gpt2 3 DRIVER --e-atol 1e-10 --expect-svd scalapack-full=19
  OPTIONS --scalapack-min-dim 1
  --block-size 5)
transformer_oracle(llama.scalapack.np4 llama 4 DRIVER --e-atol 1e-10 --expect-svd scalapack-full=23
  OPTIONS --scalapack-min-dim 1
  --block-size 3)
# The same GPT-2 as torch.save writes a GPT2Model's state_dict (committed: torch is not in CI;
# make_transformer_models.py gpt2 OUT --torch rewrites it): pytorch_model.bin gives the
# safetensors' SVR, its c_attn a strided storage, whole and on grids.
set(gpt2_torch ${PROJECT_SOURCE_DIR}/tests/data/io/hf_gpt2_tiny/pytorch_model.bin)
svr_e2e(transformer.gpt2.torch_bin.np2 2 same ${transformers}/gpt2/model.safetensors ${gpt2_torch})
svr_e2e(transformer.gpt2.torch_bin.scalapack.np3 3 same ${transformers}/gpt2/model.safetensors
  ${gpt2_torch} -- --scalapack-min-dim 1 --block-size 5)
set_tests_properties(e2e.transformer.gpt2.torch_bin.np2 e2e.transformer.gpt2.torch_bin.scalapack.np3
  PROPERTIES FIXTURES_REQUIRED transformer_gpt2)
# A sharded checkpoint (model.safetensors.index.json), its blocks spread over three shards.
transformer_model(llama_sharded llama --shards 3)
svr_e2e(transformer.llama.sharded.np2 2
  --twin "${transformers}/llama_sharded/twin.safetensors#${transformers}/llama_sharded/twin.topology.json"
  oracle ${transformers}/llama_sharded/model.safetensors.index.json)
set_tests_properties(e2e.transformer.llama.sharded.np2 PROPERTIES FIXTURES_REQUIRED
  transformer_llama_sharded)
# --batchnorm ignore leaves the gammas out: the twin written without them.
transformer_model(gpt2_unfolded gpt2 --unfolded)
transformer_oracle(gpt2.batchnorm_ignore.np2 gpt2_unfolded 2 OPTIONS --batchnorm ignore)
svr_e2e(transformer.plan_gpt2 1 --expect "Hugging Face GPT-2, recognised from the names"
  --expect "h.0.attn.c_attn.v.weight 16x16" plan ${transformers}/gpt2/model.safetensors)
set_tests_properties(e2e.transformer.plan_gpt2 PROPERTIES FIXTURES_REQUIRED transformer_gpt2)
svr_e2e(transformer.plan_llama_gqa 1
  --expect "left out: 'model.layers.0.self_attn.v_proj.weight' -> 'model.layers.0.self_attn.o_proj.weight': grouped-query attention"
  plan ${transformers}/llama_gqa/model.safetensors)
# Head by head, query heads 2 and 3 share V's second head (channels 4 to 8). (No "[" in an
# expected text: CMake would not split the arguments after it.)
svr_e2e(transformer.plan_llama_gqa_heads 1
  --expect "model.layers.0.self_attn.v_proj.weight -> model.layers.0.self_attn.o_proj.weight (split"
  --expect "4, 8) at 12)"
  plan ${transformers}/llama_gqa/model.safetensors --attention-heads split)
set_tests_properties(e2e.transformer.plan_llama_gqa e2e.transformer.plan_llama_gqa_heads
  PROPERTIES FIXTURES_REQUIRED transformer_llama_gqa)

# --attention-heads split: V -> O one pair per head, a split map of the head's channels; in a
# grouped-query attention O's query heads share V's heads (the pair left out when whole).
transformer_model(gpt2_heads gpt2 --split-heads)
transformer_oracle(gpt2.heads.scalapack.np3 gpt2_heads 3 DRIVER --e-atol 1e-10
  OPTIONS --attention-heads split --scalapack-min-dim 1 --block-size 5)
transformer_model(llama_gqa_heads llama_gqa --split-heads)
transformer_oracle(llama_gqa.heads.np2 llama_gqa_heads 2 OPTIONS --attention-heads split)
transformer_model(llama_gqa_heads_all llama_gqa --split-heads --reach all)
transformer_oracle(llama_gqa.heads.reach_all.np0 llama_gqa_heads_all 0
  OPTIONS --attention-heads split --residual-reach all)
transformer_model(gpt2_no_heads gpt2 --break heads)
svr_e2e(bad.transformer_split_heads_unknown.np2 2 --expect=config.json
  --expect "--attention-heads split needs the number of heads ('n_head')"
  fails ${transformers}/gpt2_no_heads/model.safetensors --attention-heads split)
set_tests_properties(e2e.bad.transformer_split_heads_unknown.np2 PROPERTIES
  FIXTURES_REQUIRED transformer_gpt2_no_heads)
svr_bad(attention_heads_value ${examples}/digits_cnn_plain.safetensors
  EXPECT "--attention-heads must be one of whole|split" OPTIONS --attention-heads both)

# A layout with a missing tensor, a config.json that contradicts the weights.
foreach(family gpt2 llama)
  transformer_model(${family}_missing ${family} --break missing)
  transformer_model(${family}_config ${family} --break config)
  foreach(np 0 2)
    svr_e2e(bad.transformer_${family}_missing.np${np} ${np} --expect=missing
      --expect=model.safetensors fails ${transformers}/${family}_missing/model.safetensors)
    set_tests_properties(e2e.bad.transformer_${family}_missing.np${np} PROPERTIES
      FIXTURES_REQUIRED transformer_${family}_missing)
    svr_e2e(bad.transformer_${family}_config.np${np} ${np} --expect=config.json
      --expect=12 --expect "weights hold 3 blocks"
      fails ${transformers}/${family}_config/model.safetensors)
    set_tests_properties(e2e.bad.transformer_${family}_config.np${np} PROPERTIES
      FIXTURES_REQUIRED transformer_${family}_config)
  endforeach()
endforeach()
svr_bad(residual_reach_zero ${examples}/digits_cnn_plain.safetensors EXPECT "--residual-reach"
  OPTIONS --residual-reach 0)

# svr on an ONNX graph against the same model's safetensors at --residual-reach all (a graph's
# residual stream holds every earlier writer): onnx.TEST.same on NP ranks, and
# onnx.TEST.same_scalapack on NP_GRID ranks with every layer on a grid of block BLOCK.
function(onnx_same_as_safetensors test dir np np_grid block)
  svr_e2e(onnx.${test}.same ${np} same "${dir}/model.safetensors#--residual-reach#all"
    ${dir}/model.onnx)
  svr_e2e(onnx.${test}.same_scalapack ${np_grid} same
    "${dir}/model.safetensors#--residual-reach#all" ${dir}/model.onnx --
    --scalapack-min-dim 1 --block-size ${block})
endfunction()

# The GPT-2 as an ONNX graph (make_transformer_models.py --onnx: Gather embedding, LayerNormalization,
# heads split by Reshape and Transpose, softmax(Q K^T) V, residual Adds, gelu_new as operators):
# the same SVR as its safetensors at --residual-reach all, whole and on grids; --plan says where
# Q K^T ends the flow.
transformer_model(gpt2_onnx gpt2 --reach all --onnx)
set(gpt2_onnx ${transformers}/gpt2_onnx)
onnx_same_as_safetensors(gpt2_graph ${gpt2_onnx} 2 3 5)
svr_e2e(onnx.gpt2_graph.plan 1 --expect "a graph read from the ONNX model" --expect "19 layers, 45 pairs"
  --expect "(MatMul): a product of two flows (attention's Q K^T)" plan ${gpt2_onnx}/model.onnx)
set_tests_properties(e2e.onnx.gpt2_graph.same e2e.onnx.gpt2_graph.same_scalapack
  e2e.onnx.gpt2_graph.plan PROPERTIES FIXTURES_REQUIRED transformer_gpt2_onnx)
# c_attn as one MatMul whose output a Split cuts into Q, K and V (GPT-2's own export), the layer
# norms written as operators (ReduceMean, Sub, Pow, Sqrt, Div, Mul, Add): svr reads V as the
# split [2 width, width) of c_attn and folds each gamma, against the oracle on the plain twin.
set(fused_twin "${gpt2_onnx}/fused_twin.safetensors#${gpt2_onnx}/fused_twin.topology.json")
svr_e2e(onnx.gpt2_fused.np0 0 --twin ${fused_twin} oracle ${gpt2_onnx}/fused.onnx)
svr_e2e(onnx.gpt2_fused.scalapack.np3 3 --twin ${fused_twin} --e-atol 1e-10 oracle
  ${gpt2_onnx}/fused.onnx --scalapack-min-dim 1 --block-size 5)
# The same cut by three Slices (V's from -width to INT64_MAX, as ONNX clamps it).
svr_e2e(onnx.gpt2_sliced.np2 2 --twin ${fused_twin} oracle ${gpt2_onnx}/sliced.onnx)
set_tests_properties(e2e.onnx.gpt2_fused.np0 e2e.onnx.gpt2_fused.scalapack.np3
  e2e.onnx.gpt2_sliced.np2 PROPERTIES
  FIXTURES_REQUIRED transformer_gpt2_onnx)

# The Llama as an ONNX graph (opset 18): RMSNorms written as operators (Pow, ReduceMean, Sqrt,
# Reciprocal or Div, Mul by the weight: folded; or RMSNormalization nodes), rotary embeddings on Q and K, a causal mask,
# SwiGLU's gate * sigmoid(gate) * up (gate and up both read by down, as the Llama layout pairs
# them): the same SVR as its safetensors at --residual-reach all, whole and on grids.
transformer_model(llama_onnx llama --reach all --onnx)
set(llama_onnx ${transformers}/llama_onnx)
onnx_same_as_safetensors(llama_graph ${llama_onnx} 2 4 3)
svr_e2e(onnx.llama_graph.fused_norms 0 same "${llama_onnx}/model.safetensors#--residual-reach#all"
  ${llama_onnx}/fused_norms.onnx)
svr_e2e(onnx.llama_graph.plan 1 --expect "23 layers, 67 pairs (add 61, direct 6)"
  --expect "(Slice): a slice of each head's channels (a rotary embedding's halves, say)"
  --expect "(MatMul): a product of two flows (attention's Q K^T)" plan ${llama_onnx}/model.onnx)
# There the heads' shapes are Constant nodes: the rotary halves are still seen as heads' slices.
svr_e2e(onnx.llama_graph.fused_norms_plan 1 --expect "23 layers, 67 pairs (add 61, direct 6)"
  --expect "(Slice): a slice of each head's channels" plan ${llama_onnx}/fused_norms.onnx)
set_tests_properties(e2e.onnx.llama_graph.same e2e.onnx.llama_graph.same_scalapack
  e2e.onnx.llama_graph.fused_norms e2e.onnx.llama_graph.fused_norms_plan e2e.onnx.llama_graph.plan PROPERTIES FIXTURES_REQUIRED transformer_llama_onnx)

# The ViT as an ONNX graph: the patch convolution's output reshaped and transposed to the
# positions, the class token concatenated along the positions and picked by a Gather, erf GELU
# as operators: the same SVR as its safetensors at --residual-reach all, whole and on grids.
transformer_model(vit_onnx vit --reach all --onnx)
set(vit_onnx ${transformers}/vit_onnx)
onnx_same_as_safetensors(vit_graph ${vit_onnx} 2 3 4)
svr_e2e(onnx.vit_graph.plan 1 --expect "20 layers, 52 pairs (add 43, direct 9)"
  --expect "(MatMul): a product of two flows (attention's Q K^T)" plan ${vit_onnx}/model.onnx)
set_tests_properties(e2e.onnx.vit_graph.same e2e.onnx.vit_graph.same_scalapack
  e2e.onnx.vit_graph.plan PROPERTIES FIXTURES_REQUIRED transformer_vit_onnx)
svr_e2e(onnx.llama_graph.heads 2 same
  "${llama_onnx}/model.safetensors#--residual-reach#all#--attention-heads#split"
  "${llama_onnx}/model.onnx#--attention-heads#split")
svr_e2e(onnx.gpt2_graph.heads_plan 1 --expect "19 layers, 54 pairs"
  --expect "h.0.attn.c_attn.v.weight -> h.0.attn.c_proj.weight (split"
  --expect "4, 8) at 4)"
  plan ${gpt2_onnx}/model.onnx --attention-heads split)
set_tests_properties(e2e.onnx.llama_graph.heads e2e.onnx.gpt2_graph.heads_plan PROPERTIES
  FIXTURES_REQUIRED "transformer_llama_onnx;transformer_gpt2_onnx")

# A grouped-query Llama as an ONNX graph: K and V heads repeated for the query heads by
# Unsqueeze, Expand and Reshape (Hugging Face's repeat_kv). Whole, its V -> O pairs are left out
# as for the safetensors; split, each query head reads its shared V head, as for the safetensors.
transformer_model(llama_gqa_onnx llama_gqa --reach all --onnx)
set(llama_gqa_onnx ${transformers}/llama_gqa_onnx)
svr_e2e(onnx.llama_gqa_graph.same 2 same "${llama_gqa_onnx}/model.safetensors#--residual-reach#all"
  ${llama_gqa_onnx}/model.onnx)
svr_e2e(onnx.llama_gqa_graph.heads 3 same
  "${llama_gqa_onnx}/model.safetensors#--residual-reach#all#--attention-heads#split"
  "${llama_gqa_onnx}/model.onnx#--attention-heads#split")
svr_e2e(onnx.llama_gqa_graph.plan 1 --expect "23 layers, 64 pairs"
  --expect "left out: 'model.layers.0.self_attn.v_proj.weight' -> 'model.layers.0.self_attn.o_proj.weight': grouped-query attention (each V head read by 2 query heads)"
  plan ${llama_gqa_onnx}/model.onnx)
set_tests_properties(e2e.onnx.llama_gqa_graph.same e2e.onnx.llama_gqa_graph.heads
  e2e.onnx.llama_gqa_graph.plan PROPERTIES FIXTURES_REQUIRED transformer_llama_gqa_onnx)
