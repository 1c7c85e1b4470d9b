// The ONNX reader on tests/data/onnx (make_onnx_fixtures.py): the example CNN written three ways
// reads as the same tensors as its safetensors, the MLP in FLOAT16, BFLOAT16 and DOUBLE as the
// same draws rounded, and a weight stored (in, out) as the (out, in) view of it.
#include <gtest/gtest.h>

#include <Eigen/Core>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "io_test_helpers.hpp"
#include "svr/io/model_file.hpp"

namespace svr {
namespace {

std::string onnx_dir() { return std::string(SVR_TEST_DATA_DIR) + "/onnx"; }
std::string example() {
  return std::string(SVR_TEST_DATA_DIR) + "/../../examples/digits_cnn_plain.safetensors";
}

const std::vector<std::string> kDigitsLayers{"features.0.weight", "features.2.weight",
                                             "features.5.weight", "classifier.0.weight",
                                             "classifier.2.weight"};

TEST(Onnx, TheExampleReadsAsItsSafetensorsEveryWayItIsStored) {
  const ModelFile reference = open_model(example());
  for (const char* file : {"digits_cnn_plain.onnx", "digits_cnn_plain_matmul.onnx",
                           "digits_cnn_plain_external.onnx"}) {
    SCOPED_TRACE(file);
    const ModelFile m = open_model(onnx_dir() + "/" + file);
    EXPECT_EQ(m.format, "onnx");
    ASSERT_EQ(m.graph_layers.size(), kDigitsLayers.size());
    for (std::size_t k = 0; k < kDigitsLayers.size(); ++k) {
      EXPECT_EQ(m.graph_layers[k].weight, kDigitsLayers[k]);
      // A chain: each layer reads the one before, the first one the graph's input.
      ASSERT_EQ(m.graph_layers[k].reads.size(), k == 0 ? 0u : 1u);
      if (k > 0) {
        EXPECT_EQ(m.graph_layers[k].reads[0].producer, kDigitsLayers[k - 1]);
        EXPECT_EQ(m.graph_layers[k].reads[0].kind, ModelFile::GraphRead::Kind::Direct);
      }
      EXPECT_FALSE(m.graph_layers[k].channels_last);
    }
    EXPECT_TRUE(m.graph_flow_ends.empty());
    // Every weight and bias, with the example's shape and exactly its values (F32 both).
    for (const TensorInfo& want : reference.tensors) {
      const TensorInfo* got = m.find(want.name);
      ASSERT_NE(got, nullptr) << want.name;
      EXPECT_EQ(got->shape, want.shape) << want.name;
      EXPECT_EQ(read_tensor(*got), read_tensor(want)) << want.name;
      // The range reader of the layer matrices, over a range that starts mid-row.
      const std::int64_t first = got->numel() / 3, count = got->numel() - first;
      std::vector<double> part(static_cast<std::size_t>(count));
      read_tensor_range(*got, first, count, part.data());
      const std::vector<double> whole = read_tensor(want);
      EXPECT_TRUE(std::equal(part.begin(), part.end(), whole.begin() + first)) << want.name;
    }
  }
  // The MatMul weights are stored (in, out): read as the transposed view.
  const ModelFile matmul = open_model(onnx_dir() + "/digits_cnn_plain_matmul.onnx");
  EXPECT_EQ(matmul.find("classifier.0.weight")->strides, (std::vector<std::int64_t>{1, 128}));
  // External data: the .bin is one of the model's files (hashed for summary.json).
  const ModelFile external = open_model(onnx_dir() + "/digits_cnn_plain_external.onnx");
  ASSERT_EQ(external.files.size(), 2u);
  EXPECT_EQ(external.files[1], onnx_dir() + "/digits_cnn_plain_external.bin");
}

TEST(Onnx, HalfBfloatAndDoubleWeightsAreTheSameDrawsRounded) {
  // mlp_f64 holds the float32 draws exactly; FLOAT16 rounds them to nearest, BFLOAT16 was made
  // by truncating their bits.
  const ModelFile f64 = open_model(onnx_dir() + "/mlp_f64.onnx");
  const ModelFile f16 = open_model(onnx_dir() + "/mlp_f16.onnx");
  const ModelFile bf16 = open_model(onnx_dir() + "/mlp_bf16.onnx");
  for (const char* name : {"fc1.weight", "fc2.weight"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(f64.find(name)->dtype, DType::F64);
    EXPECT_EQ(f16.find(name)->dtype, DType::F16);
    EXPECT_EQ(bf16.find(name)->dtype, DType::BF16);
    const std::vector<double> exact = read_tensor(*f64.find(name));
    const std::vector<double> half = read_tensor(*f16.find(name));
    const std::vector<double> brain = read_tensor(*bf16.find(name));
    ASSERT_EQ(half.size(), exact.size());
    ASSERT_EQ(brain.size(), exact.size());
    for (std::size_t k = 0; k < exact.size(); ++k) {
      const float value = static_cast<float>(exact[k]);
      EXPECT_EQ(half[k], static_cast<double>(static_cast<float>(Eigen::half(value))));
      std::uint32_t bits = 0;
      std::memcpy(&bits, &value, 4);
      bits &= 0xffff0000u;
      float truncated = 0;
      std::memcpy(&truncated, &bits, 4);
      EXPECT_EQ(brain[k], static_cast<double>(truncated));
    }
  }
  ASSERT_EQ(f16.graph_layers.size(), 2u);
  EXPECT_EQ(f16.graph_layers[1].reads.at(0).producer, "fc1.weight");
}

TEST(Onnx, TheGraphIsFollowedThroughSumsBatchNormsAndTransposes) {
  // The residual network: each block's sum is read as an Add of its last convolution and its
  // shortcut (the block's input, or the downsample convolution); every batch norm reads a
  // convolution's output and folds into it, named after its PyTorch module.
  const ModelFile resnet = open_model(onnx_dir() + "/digits_resnet_bn.onnx");
  using Kind = ModelFile::GraphRead::Kind;
  std::map<std::string, std::vector<std::pair<std::string, Kind>>> reads;
  for (const ModelFile::GraphLayer& layer : resnet.graph_layers)
    for (const ModelFile::GraphRead& read : layer.reads)
      reads[layer.weight].emplace_back(read.producer, read.kind);
  using Reads = std::vector<std::pair<std::string, Kind>>;
  EXPECT_EQ(reads["layer1.0.conv1.weight"], (Reads{{"conv1.weight", Kind::Direct}}));
  EXPECT_EQ(reads["layer2.0.conv1.weight"],
            (Reads{{"conv1.weight", Kind::Add}, {"layer1.0.conv2.weight", Kind::Add}}));
  EXPECT_EQ(reads["layer2.0.downsample.0.weight"], reads["layer2.0.conv1.weight"]);
  EXPECT_EQ(reads["layer2.1.conv1.weight"], (Reads{{"layer2.0.conv2.weight", Kind::Add},
                                                   {"layer2.0.downsample.0.weight", Kind::Add}}));
  EXPECT_EQ(reads["fc.weight"].size(), 3u);  // layer2.1's sum: its shortcut is layer2.0's sum
  EXPECT_EQ(resnet.graph_batchnorms.size(), 8u);
  EXPECT_EQ(resnet.graph_batchnorms.at("layer2.0.downsample.0.weight").node,
            "layer2.0.downsample.1");
  EXPECT_EQ(resnet.graph_batchnorms.at("conv1.weight").epsilon, 1e-5);
  EXPECT_TRUE(resnet.graph_flow_ends.empty());

  // A batch norm after a Relu cannot fold: the flow from fc1 ends there, and fc2 reads nothing.
  const ModelFile ended = open_model(onnx_dir() + "/batchnorm_after_relu.onnx");
  ASSERT_EQ(ended.graph_layers.size(), 3u);
  EXPECT_TRUE(ended.graph_layers[1].reads.empty());
  EXPECT_EQ(ended.graph_layers[2].reads.size(), 1u);
  ASSERT_EQ(ended.graph_flow_ends.size(), 1u);
  EXPECT_NE(ended.graph_flow_ends[0].find("node 'bn' (BatchNormalization)"), std::string::npos);
  EXPECT_TRUE(ended.graph_batchnorms.empty());

  // SiLU (x * sigmoid(x)) keeps channels apart; a gated linear unit (fc2 times sigmoid(fcg),
  // channel for channel) is read as both layers, as a Llama's gate and up are; a product with
  // a one-channel gate ends the flow, so fc4 reads nothing.
  const ModelFile gated = open_model(onnx_dir() + "/silu_and_gate.onnx");
  ASSERT_EQ(gated.graph_layers.size(), 6u);
  EXPECT_EQ(gated.graph_layers[1].reads.at(0).producer, "fc1.weight");
  EXPECT_EQ(gated.graph_layers[2].reads.at(0).producer, "fc1.weight");
  ASSERT_EQ(gated.graph_layers[3].weight, "fc3.weight");
  reads.clear();
  for (const ModelFile::GraphRead& read : gated.graph_layers[3].reads)
    reads["fc3"].emplace_back(read.producer, read.kind);
  EXPECT_EQ(reads["fc3"], (Reads{{"fc2.weight", Kind::Add}, {"fcg.weight", Kind::Add}}));
  ASSERT_EQ(gated.graph_layers[5].weight, "fc4.weight");
  EXPECT_TRUE(gated.graph_layers[5].reads.empty());
  ASSERT_EQ(gated.graph_flow_ends.size(), 1u);
  EXPECT_NE(gated.graph_flow_ends[0].find("node 'gate_product' (Mul)"), std::string::npos);

  // Channels last: the linear layer after the Transpose to NHWC takes Keras' flatten order.
  const ModelFile keras = open_model(onnx_dir() + "/digits_cnn_plain_keras.onnx");
  ASSERT_EQ(keras.graph_layers.size(), 5u);
  EXPECT_TRUE(keras.graph_layers[3].channels_last);
  EXPECT_FALSE(keras.graph_layers[4].channels_last);
}

TEST(Onnx, NormsWrittenAsOperatorsFoldTheirWeightAndStatisticsEndTheFlow) {
  // x / sqrt(mean(x^2) + eps) * w: fc2 reads fc1, with w as its input scale. A per-channel Mul
  // with no norm before it is no norm's weight: fc3 reads fc2 unscaled.
  const ModelFile norms = open_model(onnx_dir() + "/norms_as_operators.onnx");
  ASSERT_EQ(norms.graph_layers.size(), 5u);
  const ModelFile::GraphLayer& fc2 = norms.graph_layers[1];
  ASSERT_EQ(fc2.weight, "fc2.weight");
  ASSERT_EQ(fc2.reads.size(), 1u);
  EXPECT_EQ(fc2.reads[0].producer, "fc1.weight");
  EXPECT_EQ(fc2.input_scale, "norm.weight");
  const ModelFile::GraphLayer& fc3 = norms.graph_layers[2];
  ASSERT_EQ(fc3.reads.size(), 1u);
  EXPECT_EQ(fc3.reads[0].producer, "fc2.weight");
  EXPECT_EQ(fc3.input_scale, "");
  // The statistic itself, or divided by the flow, carries no channel: fc4 and fc5 read nothing.
  EXPECT_TRUE(norms.graph_layers[3].reads.empty());
  EXPECT_TRUE(norms.graph_layers[4].reads.empty());
  ASSERT_EQ(norms.graph_flow_ends.size(), 2u);
  EXPECT_NE(norms.graph_flow_ends[0].find("node 'fc4' (Gemm): reads a per-position statistic"),
            std::string::npos);
  EXPECT_NE(norms.graph_flow_ends[1].find("node 'inverse' (Div): a per-position statistic"),
            std::string::npos);
}

TEST(Onnx, PositionsCutJoinedAndPooledKeepTheChannels) {
  // The graph's input has rank 3, so fc1's output (1, 5, 6) has its positions on axis 1: a
  // Slice, a Split and a Concat there keep every channel; a Slice on axis -1 takes channels.
  const ModelFile positions = open_model(onnx_dir() + "/positions.onnx");
  ASSERT_EQ(positions.graph_layers.size(), 5u);
  using Kind = ModelFile::GraphRead::Kind;
  const ModelFile::GraphLayer& fc2 = positions.graph_layers[1];
  ASSERT_EQ(fc2.reads.size(), 1u);
  EXPECT_EQ(fc2.reads[0].producer, "fc1.weight");
  EXPECT_EQ(fc2.reads[0].kind, Kind::Direct);
  const ModelFile::GraphLayer& fc3 = positions.graph_layers[2];
  ASSERT_EQ(fc3.reads.size(), 1u);
  EXPECT_EQ(fc3.reads[0].kind, Kind::Split);
  EXPECT_EQ(fc3.reads[0].first, 0);
  EXPECT_EQ(fc3.reads[0].count, 3);
  // A ReduceMean over a convolution's height and width is a pooling: fc4 reads the convolution.
  // A ReduceMax over its channels mixes them: the flow ends there.
  const ModelFile::GraphLayer& fc4 = positions.graph_layers[4];
  ASSERT_EQ(fc4.weight, "fc4.weight");
  ASSERT_EQ(fc4.reads.size(), 1u);
  EXPECT_EQ(fc4.reads[0].producer, "conv.weight");
  ASSERT_EQ(positions.graph_flow_ends.size(), 1u);
  EXPECT_NE(positions.graph_flow_ends[0].find("node 'brightest' (ReduceMax): a reduction that is "
                                              "neither over positions only"),
            std::string::npos);
}

TEST(Onnx, RepeatedHeadsEndTheFlowAnywhereButAtTheirReader) {
  const ModelFile repeated = open_model(onnx_dir() + "/repeated_heads.onnx");
  ASSERT_EQ(repeated.graph_flow_ends.size(), 2u);
  EXPECT_NE(repeated.graph_flow_ends[0].find(
                "node 'mixed' (Softmax): an operator on repeated heads (a grouped-query "
                "attention's V)"),
            std::string::npos);
  EXPECT_NE(repeated.graph_flow_ends[1].find("node 'other_expand' (Expand): an expand svr cannot "
                                             "follow"),
            std::string::npos);
}

TEST(Onnx, MalformedFilesNameTheTensorAndTheProblem) {
  const std::string bad = onnx_dir() + "/bad/";
  const auto expect_error = [&](const std::string& file, const std::vector<std::string>& parts) {
    SCOPED_TRACE(file);
    try {
      open_model(bad + file);
      ADD_FAILURE() << "no error";
    } catch (const InputError& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
      EXPECT_NE(message.find(file), std::string::npos) << message;
      for (const std::string& part : parts)
        EXPECT_NE(message.find(part), std::string::npos) << message;
    }
  };
  expect_error("short_raw_data.onnx", {"'fc2.weight'", "holds 92 bytes", "need 96"});
  expect_error("int8_weight.onnx", {"'fc3.weight'", "INT8"});
  expect_error("missing_external.onnx", {"'fc2.weight'", "no_such.bin"});
  expect_error("escaping_external.onnx", {"'fc2.weight'", "leaves the model's directory"});
  expect_error("cycle.onnx", {"node 'fc1' (Gemm) reads 'logits'", "node 'fc3' (Gemm)", "cycle"});
  expect_error("truncated.onnx", {"runs past its end"});
  expect_error("garbage.onnx", {"not a valid ONNX model"});
}

TEST(Onnx, EveryPrefixOfAModelIsRefusedCleanly) {
  // Cut anywhere, the file must give an InputError, never a crash or a model.
  const std::string bytes = test::read_file(onnx_dir() + "/mlp_f16.onnx");
  test::TempDir dir;
  for (std::size_t size = 1; size < bytes.size(); ++size) {
    const std::string path = dir.path() + "/cut.onnx";
    test::write_file(path, bytes.substr(0, size));
    EXPECT_THROW(open_model(path), InputError) << size << " of " << bytes.size() << " bytes";
  }
}

}  // namespace
}  // namespace svr
