// distributed_layer_matrix against layer_matrix on the fixtures: the gathered matrix is bitwise
// the LAPACK path's (svr and cosvr, BN folded or ignored, block sizes that do and do not divide
// the shapes, every world grid shape, a grid without the last rank), and bad weights fail with
// the same one-line message on every rank.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "mpi_test_support.hpp"
#include "svr/core/error.hpp"
#include "svr/network/distributed_layer.hpp"
#include "svr/network/layer_matrix.hpp"
#include "svr/network/network_plan.hpp"

namespace {

std::string fixture(const std::string& name) { return std::string(SVR_SOURCE_DIR) + "/" + name; }

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

void expect_same_matrices(const std::string& file, svr::NetworkOptions options, std::int64_t block,
                          svr::GridShape shape) {
  const svr::ModelFile model = svr::open_model(fixture(file));
  const svr::NetworkPlan plan = svr::plan_network(model, options);
  const svr::ProcessGrid grid(MPI_COMM_WORLD, shape, 0);
  for (const svr::LayerSpec& layer : plan.layers) {
    SCOPED_TRACE(file + " " + layer.name + " " + svr::to_string(options.read.method) + " nb " +
                 std::to_string(block) + " grid " + svr_test::shape_name(shape));
    const svr::DistributedMatrix M =
        svr::distributed_layer_matrix(model, layer, options.read, grid, block);
    const Eigen::MatrixXd gathered = M.gather(0);
    if (grid.active() && grid.rank() == 0) {
      const Eigen::MatrixXd expected = svr::layer_matrix(model, layer, options.read);
      ASSERT_EQ(gathered.rows(), expected.rows());
      ASSERT_EQ(gathered.cols(), expected.cols());
      EXPECT_TRUE(gathered == expected);  // bitwise: the same reads, the same fold
    }
  }
}

TEST(DistributedLayer, EqualsLayerMatrix) {
  for (const svr::GridShape shape : svr_test::world_shapes())
    for (const svr::Method method : {svr::Method::Svr, svr::Method::Cosvr})
      for (const std::int64_t block : {std::int64_t{3}, std::int64_t{64}}) {
        svr::NetworkOptions options;
        options.read.method = method;
        expect_same_matrices("tests/data/vgg/vgg_bn.safetensors", options, block, shape);
        expect_same_matrices("examples/digits_cnn_bn.pth", options, block, shape);
      }
  svr::NetworkOptions ignore;
  ignore.read.batchnorm = svr::BatchNormMode::Ignore;
  expect_same_matrices("tests/data/vgg/vgg_bn.safetensors", ignore, 5,
                       svr::near_square_shape(svr_test::world_size()));
}

TEST(DistributedLayer, GridWithoutTheLastRank) {
  const int p = svr_test::world_size();
  if (p < 2) GTEST_SKIP() << "needs 2 ranks";
  expect_same_matrices("tests/data/vgg/vgg_bn.safetensors", svr::NetworkOptions{}, 4,
                       svr::near_square_shape(p - 1));
}

// The same message as layer_matrix on every rank of the grid (the LAPACK path's).
void expect_same_error(const std::string& file, const std::string& layer_name,
                       const std::string& needle) {
  const svr::ModelFile model = svr::open_model(fixture(file));
  const svr::NetworkPlan plan = svr::plan_network(model, svr::NetworkOptions{});
  const svr::ProcessGrid grid(MPI_COMM_WORLD, svr_test::world_size());
  for (const svr::LayerSpec& layer : plan.layers) {
    if (layer.name != layer_name) continue;
    for (const std::int64_t block : {std::int64_t{1}, std::int64_t{3}, std::int64_t{64}}) {
      const std::string expected =
          message_of([&] { svr::layer_matrix(model, layer, svr::LayerReadOptions{}); });
      ASSERT_NE(expected.find(needle), std::string::npos) << expected;
      const std::string got = message_of(
          [&] { svr::distributed_layer_matrix(model, layer, svr::LayerReadOptions{}, grid, block); });
      EXPECT_EQ(got, expected) << "nb " << block;
    }
    return;
  }
  FAIL() << layer_name << " is not a layer of " << file;
}

TEST(DistributedLayer, BadWeightsFailLikeLayerMatrix) {
  expect_same_error("tests/data/vgg/nan_weight.safetensors", "fc2.weight", "NaN");
  expect_same_error("tests/data/vgg/inf_weight.safetensors", "fc2.weight", "Inf");
  expect_same_error("tests/data/vgg/zero_layer.safetensors", "fc2.weight", "zero");
}

TEST(DistributedLayer, BadBatchNormFailsLikeLayerMatrix) {
  expect_same_error("tests/data/vgg/bn_bad_var.safetensors", "features.0.weight", "<= 0");
  expect_same_error("tests/data/vgg/bn_nan_var.safetensors", "features.0.weight", "NaN");
}

}  // namespace
