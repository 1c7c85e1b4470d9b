// Hugging Face transformer layouts (recognise_transformer.cpp) and the input-scale fold of a
// pre-norm gamma into its reader's columns (layer_matrix.cpp), on models small enough to check by
// hand. The tiny random models of every family against the oracle: tests/e2e/transformers.cmake.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "svr/core/error.hpp"
#include "svr/network/layer_matrix.hpp"
#include "svr/network/network_plan.hpp"
#include "svr/network/topology.hpp"
#include "test_model.hpp"

namespace svr {
namespace {

std::vector<double> ramp(std::size_t n, double start) {
  std::vector<double> v(n);
  for (std::size_t k = 0; k < n; ++k) v[k] = start + static_cast<double>(k);
  return v;
}

// A GPT-2 of `blocks` blocks, width 4, MLP width 6, vocabulary 5; Conv1D weights (in, out).
void add_gpt2(test::TestModel& m, int blocks, const std::string& prefix = "") {
  m.add(prefix + "wte.weight", {5, 4}, ramp(20, 1.0)).add_random(prefix + "wpe.weight", {7, 4}, 2);
  for (int b = 0; b < blocks; ++b) {
    const std::string p = prefix + "h." + std::to_string(b) + ".";
    m.add(p + "ln_1.weight", {4}, {1.0, 2.0, 0.5, -1.0})
        .add(p + "ln_1.bias", {4}, {0, 0, 0, 0})
        .add(p + "attn.c_attn.weight", {4, 12}, ramp(48, 100.0 * (b + 1)))
        .add_random(p + "attn.c_proj.weight", {4, 4}, 10 + b)
        .add(p + "ln_2.weight", {4}, {3.0, 1.0, 1.0, 2.0})
        .add_random(p + "mlp.c_fc.weight", {4, 6}, 20 + b)
        .add_random(p + "mlp.c_proj.weight", {6, 4}, 30 + b);
  }
  m.add(prefix + "ln_f.weight", {4}, {1, 1, 1, 1});
}

// "producer -> consumer (map)" for every pair of the plan.
std::set<std::string> pair_names(const NetworkPlan& plan) {
  std::set<std::string> names;
  for (const PairSpec& pair : plan.pairs)
    names.insert(plan.layers[static_cast<std::size_t>(pair.from)].name + " -> " +
                 plan.layers[static_cast<std::size_t>(pair.to)].name + " (" +
                 to_string(pair.map.kind) + ")");
  return names;
}

const LayerSpec& layer_named(const NetworkPlan& plan, const std::string& name) {
  for (const LayerSpec& layer : plan.layers)
    if (layer.name == name) return layer;
  throw Error("no layer " + name);
}

TEST(TransformerViews, Gpt2ConvOneDTransposedAndCAttnSplit) {
  test::TestModel m;
  add_gpt2(m, 1, "transformer.");
  add_layout_views(m.model);
  // wte (5, 4) -> (4, 5): M(a, t) = wte[t, a] = 1 + 4 t + a.
  const TensorInfo* wte = m.model.find("transformer.wte.weight");
  ASSERT_NE(wte, nullptr);
  EXPECT_EQ(wte->shape, (std::vector<std::int64_t>{4, 5}));
  const std::vector<double> e = read_tensor(*wte);
  EXPECT_EQ(e[0 * 5 + 1], 5.0);
  EXPECT_EQ(e[3 * 5 + 4], 20.0);
  // c_attn (4, 12) stored: V = columns 8..11, viewed (4 out, 4 in): V(o, a) = c_attn[a, 8 + o].
  const TensorInfo* v = m.model.find("transformer.h.0.attn.c_attn.v.weight");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->shape, (std::vector<std::int64_t>{4, 4}));
  const std::vector<double> vv = read_tensor(*v);
  for (int o = 0; o < 4; ++o)
    for (int a = 0; a < 4; ++a) EXPECT_EQ(vv[o * 4 + a], 100.0 + a * 12 + 8 + o);
  std::vector<double> q(4);
  read_tensor_range(*m.model.find("transformer.h.0.attn.c_attn.q.weight"), 4, 4, q.data());
  EXPECT_EQ(q, (std::vector<double>{101.0, 113.0, 125.0, 137.0}));  // Q's row 1: column 1
  EXPECT_EQ(m.model.find("transformer.h.0.mlp.c_fc.weight")->shape,
            (std::vector<std::int64_t>{6, 4}));
  EXPECT_EQ(m.model.find("transformer.h.0.attn.c_attn.weight")->shape,
            (std::vector<std::int64_t>{4, 12}));  // the stored tensor stays
}

TEST(TransformerViews, CAttnAsAStridedStorageView) {
  // A PyTorch checkpoint may hold c_attn (4, 12) as the transpose of a (12, 4) storage:
  // c_attn[a, j] = storage[j, a] = 1 + 4 j + a, strides (1, 4).
  test::TestModel m;
  add_gpt2(m, 1);
  m.add("storage", {12, 4}, ramp(48, 1.0));
  const TensorInfo storage = *m.model.find("storage");
  TensorInfo* c_attn = nullptr;
  for (TensorInfo& t : m.model.tensors)
    if (t.name == "h.0.attn.c_attn.weight") c_attn = &t;
  ASSERT_NE(c_attn, nullptr);
  c_attn->offset = storage.offset;
  c_attn->nbytes = storage.nbytes;
  c_attn->strides = {1, 4};
  add_layout_views(m.model);
  // K(o, a) = c_attn[a, 4 + o] = 1 + 4 (4 + o) + a.
  const std::vector<double> k = read_tensor(*m.model.find("h.0.attn.c_attn.k.weight"));
  for (int o = 0; o < 4; ++o)
    for (int a = 0; a < 4; ++a) EXPECT_EQ(k[o * 4 + a], 17.0 + 4 * o + a);
}

TEST(TransformerPlan, Gpt2PairsAtReachOneAndAll) {
  test::TestModel m;
  add_gpt2(m, 2);
  add_layout_views(m.model);
  NetworkOptions options;
  const NetworkPlan plan = plan_network(m.model, options);
  EXPECT_EQ(plan.family, "Hugging Face GPT-2");
  EXPECT_EQ(plan.source, "family");
  ASSERT_EQ(plan.layers.size(), 13u);  // wte + 2 x (q, k, v, c_proj, c_fc, mlp.c_proj)
  EXPECT_EQ(plan.layers[0].name, "wte.weight");
  EXPECT_EQ(plan.layers[0].in_channels, 5);
  EXPECT_EQ(layer_named(plan, "h.1.attn.c_attn.k.weight").input_scale, "h.1.ln_1.weight");
  EXPECT_EQ(layer_named(plan, "h.0.mlp.c_fc.weight").input_scale, "h.0.ln_2.weight");
  EXPECT_EQ(layer_named(plan, "h.0.attn.c_proj.weight").input_scale, "");
  const std::set<std::string> expected = {
      // block 0 reads the embedding; its MLP also its own attention's output
      "wte.weight -> h.0.attn.c_attn.q.weight (direct)",
      "wte.weight -> h.0.attn.c_attn.k.weight (direct)",
      "wte.weight -> h.0.attn.c_attn.v.weight (direct)",
      "h.0.attn.c_attn.v.weight -> h.0.attn.c_proj.weight (direct)",
      "wte.weight -> h.0.mlp.c_fc.weight (add)",
      "h.0.attn.c_proj.weight -> h.0.mlp.c_fc.weight (add)",
      "h.0.mlp.c_fc.weight -> h.0.mlp.c_proj.weight (direct)",
      // block 1 reads block 0's writers, not the embedding
      "h.0.attn.c_proj.weight -> h.1.attn.c_attn.q.weight (add)",
      "h.0.mlp.c_proj.weight -> h.1.attn.c_attn.q.weight (add)",
      "h.0.attn.c_proj.weight -> h.1.attn.c_attn.k.weight (add)",
      "h.0.mlp.c_proj.weight -> h.1.attn.c_attn.k.weight (add)",
      "h.0.attn.c_proj.weight -> h.1.attn.c_attn.v.weight (add)",
      "h.0.mlp.c_proj.weight -> h.1.attn.c_attn.v.weight (add)",
      "h.1.attn.c_attn.v.weight -> h.1.attn.c_proj.weight (direct)",
      "h.0.attn.c_proj.weight -> h.1.mlp.c_fc.weight (add)",
      "h.0.mlp.c_proj.weight -> h.1.mlp.c_fc.weight (add)",
      "h.1.attn.c_proj.weight -> h.1.mlp.c_fc.weight (add)",
      "h.1.mlp.c_fc.weight -> h.1.mlp.c_proj.weight (direct)"};
  EXPECT_EQ(pair_names(plan), expected);
  EXPECT_TRUE(plan.left_out.empty());

  options.residual_reach = -1;  // every earlier writer: block 1 also reads the embedding
  const std::set<std::string> all = pair_names(plan_network(m.model, options));
  EXPECT_EQ(all.size(), expected.size() + 4);
  EXPECT_TRUE(all.count("wte.weight -> h.1.mlp.c_fc.weight (add)"));
  EXPECT_TRUE(all.count("wte.weight -> h.1.attn.c_attn.v.weight (add)"));
}

TEST(TransformerPlan, ExportedTopologyReadsBackTheSamePlan) {
  test::TestModel m;
  add_gpt2(m, 2);
  add_layout_views(m.model);
  NetworkOptions options;
  options.residual_reach = 2;
  const NetworkPlan recognised = plan_network(m.model, options);
  const std::string path = m.model.path + ".topology.json";
  std::ofstream(path) << topology_json(recognised, "test").dump(1);
  options.topology = path;
  const NetworkPlan read_back = plan_network(m.model, options);
  ASSERT_EQ(read_back.layers.size(), recognised.layers.size());
  for (std::size_t k = 0; k < recognised.layers.size(); ++k) {
    EXPECT_EQ(read_back.layers[k].name, recognised.layers[k].name);
    EXPECT_EQ(read_back.layers[k].input_scale, recognised.layers[k].input_scale);
  }
  EXPECT_EQ(pair_names(read_back), pair_names(recognised));
  EXPECT_EQ(layer_named(read_back, "h.1.mlp.c_fc.weight").input_scale, "h.1.ln_2.weight");
}

TEST(InputScale, FoldsIntoColumnsRepeatedOverPositions) {
  // conv (2 out, 2 in, 1, 2): W[o] = (w_o0p0, w_o0p1, w_o1p0, w_o1p1); gamma = (2, -3).
  test::TestModel m;
  m.add("c.weight", {2, 2, 1, 2}, {1, 2, 3, 4, 5, 6, 7, 8}).add("g", {2}, {2, -3});
  LayerSpec layer = describe_layer(m.model, *m.model.find("c.weight"));
  layer.input_scale = "g";
  LayerReadOptions read;
  Eigen::MatrixXd svr(2, 4);
  svr << 2, 4, -9, -12, 10, 12, -21, -24;
  EXPECT_EQ(layer_matrix(m.model, layer, read), svr);
  read.method = Method::Cosvr;  // M(o z + p, a)
  Eigen::MatrixXd cosvr(4, 2);
  cosvr << 2, -9, 4, -12, 10, -21, 12, -24;
  EXPECT_EQ(layer_matrix(m.model, layer, read), cosvr);
  read.method = Method::Svr;
  read.batchnorm = BatchNormMode::Ignore;
  Eigen::MatrixXd plain(2, 4);
  plain << 1, 2, 3, 4, 5, 6, 7, 8;
  EXPECT_EQ(layer_matrix(m.model, layer, read), plain);
}

TEST(InputScale, WithABatchNormBothFold) {
  test::TestModel m;
  m.add("fc.weight", {2, 2}, {1, 2, 3, 4})
      .add("g", {2}, {10, 100})
      .add_batchnorm("bn", {2, 1}, {4, 1});
  LayerSpec layer = describe_layer(m.model, *m.model.find("fc.weight"));
  layer.input_scale = "g";
  layer.bn = BatchNormSpec{"bn", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", 0.0};
  const Eigen::MatrixXd M = layer_matrix(m.model, layer, LayerReadOptions{});
  EXPECT_EQ(M(0, 0), 10.0);   // 1 * (2 / 2) * 10
  EXPECT_EQ(M(0, 1), 200.0);  // 2 * 1 * 100
  EXPECT_EQ(M(1, 1), 400.0);  // 4 * 1 * 100
}

TEST(InputScale, BadScalesAreOneLineErrors) {
  test::TestModel m;
  m.add("fc.weight", {2, 3}, {1, 2, 3, 4, 5, 6})
      .add("short", {2}, {1, 1})
      .add("nan", {3}, {1, std::nan(""), 1})
      .add("zero", {3}, {0, 0, 0});
  LayerSpec layer = describe_layer(m.model, *m.model.find("fc.weight"));
  auto message = [&](const std::string& scale) {
    layer.input_scale = scale;
    try {
      layer_matrix(m.model, layer, LayerReadOptions{});
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("short").find("input scale has 2 values but layer 'fc.weight' [2, 3] has 3"),
            std::string::npos);
  EXPECT_NE(message("nan").find("'nan': contains NaN"), std::string::npos);
  EXPECT_NE(message("zero").find("all weights are zero after folding input scale 'zero'"),
            std::string::npos);
}

void write_config(const test::TestModel& m, const std::string& json) {
  const std::string path = m.model.path.substr(0, m.model.path.find_last_of('/')) + "/config.json";
  std::ofstream(path) << json;
}

std::string plan_error(test::TestModel& m) {
  try {
    plan_network(m.model, NetworkOptions{});
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

TEST(TransformerPlan, ConfigMustAgreeWithTheWeights) {
  test::TestModel m;
  add_gpt2(m, 2);
  add_layout_views(m.model);
  write_config(m,
               R"({"model_type": "gpt2", "n_layer": 2, "n_embd": 4, "n_head": 2, "n_inner": 6})");
  EXPECT_EQ(plan_error(m), "no error");
  write_config(m, R"({"model_type": "gpt2", "n_layer": 12, "n_embd": 4})");
  EXPECT_NE(plan_error(m).find("config.json: 'n_layer' is 12 but the weights hold 2 blocks"),
            std::string::npos);
  write_config(m, R"({"n_embd": 8})");
  EXPECT_NE(plan_error(m).find("'n_embd' is 8 but 'h.0.attn.c_proj.weight' [4, 4] writes 4"),
            std::string::npos);
  write_config(m, R"({"n_inner": 7})");
  EXPECT_NE(plan_error(m).find("'n_inner' is 7"), std::string::npos);
  write_config(m, R"({"n_head": 3})");
  EXPECT_NE(plan_error(m).find("'n_head' 3 does not divide the width 4"), std::string::npos);
  write_config(m, R"({"model_type": "bert"})");
  EXPECT_NE(plan_error(m).find("model_type is 'bert' but the weights have the names of a "
                               "Hugging Face GPT-2"),
            std::string::npos);
  write_config(m, R"({"model_type": "qwen2"})");  // a type of no family svr knows: no contradiction
  EXPECT_EQ(plan_error(m), "no error");
  write_config(m, R"({"n_layer": "two"})");
  EXPECT_NE(plan_error(m).find("'n_layer' must be a positive integer"), std::string::npos);
}

TEST(TransformerPlan, MissingTensorNamesIt) {
  test::TestModel m;
  m.add("wte.weight", {5, 4}, ramp(20, 1.0));
  for (int b = 0; b < 2; ++b) {
    const std::string p = "h." + std::to_string(b) + ".";
    m.add(p + "ln_1.weight", {4}, {1, 1, 1, 1})
        .add_random(p + "attn.c_attn.weight", {4, 12}, 3)
        .add_random(p + "attn.c_proj.weight", {4, 4}, 4)
        .add(p + "ln_2.weight", {4}, {1, 1, 1, 1})
        .add_random(p + "mlp.c_fc.weight", {4, 6}, 5);
    if (b == 0) m.add_random(p + "mlp.c_proj.weight", {6, 4}, 6);
  }
  add_layout_views(m.model);
  EXPECT_NE(plan_error(m).find("'h.1.mlp.c_proj.weight': is missing: the model has the names of "
                               "a Hugging Face GPT-2 with 2 blocks"),
            std::string::npos);
}

TEST(TransformerPlan, ShapesTheLayoutCannotHaveAreOneLineErrors) {
  test::TestModel m;
  m.add_random("model.embed_tokens.weight", {9, 4}, 1);
  const std::string p = "model.layers.0.";
  m.add(p + "input_layernorm.weight", {1, 4}, {1, 2, 1, 2});  // a matrix where a vector belongs
  for (const char* name : {"q_proj", "k_proj", "v_proj", "o_proj"})
    m.add_random(p + "self_attn." + name + ".weight", {4, 4}, 2);
  m.add(p + "post_attention_layernorm.weight", {4}, {1, 1, 3, 1})
      .add_random(p + "mlp.gate_proj.weight", {6, 4}, 6)
      .add(p + "mlp.up_proj.weight", {6}, {1, 2, 3, 4, 5, 6})  // a vector where a matrix belongs
      .add_random(p + "mlp.down_proj.weight", {4, 6}, 8);
  add_layout_views(m.model);
  EXPECT_NE(plan_error(m).find("'model.layers.0.input_layernorm.weight': has the shape [1, 4]: "
                               "in a Hugging Face Llama/Mistral it is a norm's weight vector"),
            std::string::npos);
  for (TensorInfo& t : m.model.tensors)
    if (t.name == p + "input_layernorm.weight") t.shape = {4};
  EXPECT_NE(plan_error(m).find("'model.layers.0.mlp.up_proj.weight': has the shape [6]: in a "
                               "Hugging Face Llama/Mistral it is a layer's weight matrix"),
            std::string::npos);
}

// One Llama block of width 4 whose V has 2 channels (grouped-query attention).
void add_llama_gqa_block(test::TestModel& m) {
  m.add_random("model.embed_tokens.weight", {9, 4}, 1);
  const std::string p = "model.layers.0.";
  m.add(p + "input_layernorm.weight", {4}, {1, 2, 1, 2})
      .add_random(p + "self_attn.q_proj.weight", {4, 4}, 2)
      .add_random(p + "self_attn.k_proj.weight", {2, 4}, 3)
      .add_random(p + "self_attn.v_proj.weight", {2, 4}, 4)
      .add_random(p + "self_attn.o_proj.weight", {4, 4}, 5)
      .add(p + "post_attention_layernorm.weight", {4}, {1, 1, 3, 1})
      .add_random(p + "mlp.gate_proj.weight", {6, 4}, 6)
      .add_random(p + "mlp.up_proj.weight", {6, 4}, 7)
      .add_random(p + "mlp.down_proj.weight", {4, 6}, 8);
}

TEST(TransformerPlan, LlamaGroupedQueryAttentionLeavesVToOOut) {
  test::TestModel m;
  add_llama_gqa_block(m);
  m.add("model.norm.weight", {4}, {1, 1, 1, 1})
      .add_random("lm_head.weight", {9, 4}, 9)
      .add_random("score.weight", {3, 4}, 10);
  add_layout_views(m.model);
  const NetworkPlan plan = plan_network(m.model, NetworkOptions{});
  EXPECT_EQ(plan.family, "Hugging Face Llama/Mistral");
  const std::set<std::string> pairs = pair_names(plan);
  EXPECT_FALSE(
      pairs.count("model.layers.0.self_attn.v_proj.weight -> "
                  "model.layers.0.self_attn.o_proj.weight (direct)"));
  EXPECT_TRUE(
      pairs.count("model.layers.0.mlp.gate_proj.weight -> "
                  "model.layers.0.mlp.down_proj.weight (add)"));
  EXPECT_TRUE(
      pairs.count("model.layers.0.mlp.up_proj.weight -> "
                  "model.layers.0.mlp.down_proj.weight (add)"));
  EXPECT_TRUE(pairs.count("model.layers.0.self_attn.o_proj.weight -> lm_head.weight (add)"));
  EXPECT_EQ(layer_named(plan, "lm_head.weight").input_scale, "model.norm.weight");
  ASSERT_EQ(plan.left_out.size(), 2u);
  EXPECT_NE(plan.left_out[0].find("grouped-query attention (V has 2 channels, O reads 4)"),
            std::string::npos);
  EXPECT_NE(plan.left_out[1].find("'score.weight' [3, 4]: not a layer"), std::string::npos);
}

TEST(TransformerPlan, AttentionHeadsSplitReadsEachHeadsChannelsOfV) {
  // Width 4, two query heads of 2 channels sharing one key-value head (V has 2 channels): O's
  // head h reads V's channels [0, 2) at its own channels [2h, 2h + 2).
  test::TestModel m;
  add_llama_gqa_block(m);
  const std::string p = "model.layers.0.";
  add_layout_views(m.model);
  NetworkOptions options;
  options.split_heads = true;
  try {  // the heads come from config.json only
    plan_network(m.model, options);
    ADD_FAILURE() << "no error without config.json";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--attention-heads split needs the number of heads "
                                         "('num_attention_heads')"),
              std::string::npos);
  }
  write_config(m, R"({"num_attention_heads": 2, "num_key_value_heads": 1})");
  const NetworkPlan plan = plan_network(m.model, options);
  EXPECT_TRUE(plan.left_out.empty());
  std::vector<std::array<std::int64_t, 3>> heads;  // first, count, offset of each V -> O pair
  for (const PairSpec& pair : plan.pairs)
    if (plan.layers[static_cast<std::size_t>(pair.to)].name == p + "self_attn.o_proj.weight") {
      ASSERT_EQ(plan.layers[static_cast<std::size_t>(pair.from)].name,
                p + "self_attn.v_proj.weight");
      ASSERT_EQ(pair.map.kind, MapKind::Split);
      heads.push_back({pair.map.first, pair.map.count, pair.map.offset});
    }
  EXPECT_EQ(heads, (std::vector<std::array<std::int64_t, 3>>{{0, 2, 0}, {0, 2, 2}}));
  write_config(m, R"({"num_attention_heads": 2, "num_key_value_heads": 3})");
  EXPECT_NE(plan_error(m).find("'num_key_value_heads' 3 of 2 channels make 6"), std::string::npos);
}

}  // namespace
}  // namespace svr
