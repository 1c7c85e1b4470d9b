// Readers on the fixtures of scripts/make_io_fixtures.py, compared with the values torch computed.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io_test_helpers.hpp"
#include "svr/io/model_file.hpp"

namespace svr {
namespace {

using nlohmann::json;

const json& expected() {
  static const json j = [] {
    std::ifstream in(test::data_dir() + "/expected.json");
    return json::parse(in);
  }();
  return j;
}

// Every tensor of `file` has the name, order, dtype, shape and values that torch reported.
void check_against_expected(const std::string& file, const ModelFile& m) {
  const json& rows = expected().at(file);
  ASSERT_EQ(m.tensors.size(), rows.size()) << file;
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const json& row = rows[k];
    const TensorInfo& t = m.tensors[k];
    SCOPED_TRACE(file + " " + t.name);
    EXPECT_EQ(t.name, row.at("name").get<std::string>());
    EXPECT_EQ(dtype_name(t.dtype), row.at("dtype").get<std::string>());
    EXPECT_EQ(t.shape, row.at("shape").get<std::vector<std::int64_t>>());
    const std::vector<double> v = read_tensor(t);
    ASSERT_EQ(static_cast<std::int64_t>(v.size()), t.numel());
    double sum = 0;
    for (double x : v) sum += x;
    EXPECT_NEAR(sum, row.at("sum").get<double>(), 1e-12 * (1 + row.at("abs_sum").get<double>()));
    for (const json& pick : row.at("values")) EXPECT_EQ(v.at(pick[0].get<std::size_t>()), pick[1].get<double>());
    EXPECT_EQ(m.find(t.name), &t);
  }
}

TEST(IoGoodFiles, TorchZipStateDict) {
  const ModelFile m = open_model(test::data_dir() + "/small_zip.pth");
  EXPECT_EQ(m.format, "torch-zip");
  EXPECT_TRUE(m.order_is_state_dict);
  EXPECT_TRUE(m.refused.empty());
  EXPECT_FALSE(m.declared_layers.has_value());
  check_against_expected("small_zip.pth", m);
  const TensorInfo* nbt = m.find("1.num_batches_tracked");
  ASSERT_NE(nbt, nullptr);
  EXPECT_EQ(nbt->dtype, DType::I64);
  EXPECT_EQ(read_tensor(*nbt), std::vector<double>{7.0});
  EXPECT_EQ(m.find("no.such.tensor"), nullptr);
}

TEST(IoGoodFiles, TorchZipPickleProtocol4) {
  const ModelFile m = open_model(test::data_dir() + "/small_zip_p4.pth");
  EXPECT_EQ(m.format, "torch-zip");
  check_against_expected("small_zip_p4.pth", m);
}

TEST(IoGoodFiles, TorchLegacyStateDict) {
  const ModelFile m = open_model(test::data_dir() + "/small_legacy.pth");
  EXPECT_EQ(m.format, "torch-legacy");
  EXPECT_TRUE(m.order_is_state_dict);
  check_against_expected("small_legacy.pth", m);
}

TEST(IoGoodFiles, TrainingCheckpointFindsModelDict) {
  const ModelFile m = open_model(test::data_dir() + "/checkpoint.pth");
  EXPECT_EQ(m.format, "torch-zip");
  check_against_expected("checkpoint.pth", m);
  EXPECT_EQ(m.find("exp_avg"), nullptr);  // optimizer state is not part of the model
}

TEST(IoGoodFiles, StridedViewsZipAndLegacy) {
  for (const char* name : {"transposed_zip.pth", "transposed_legacy.pth"}) {
    const ModelFile m = open_model(test::data_dir() + "/" + name);
    check_against_expected(name, m);
    const TensorInfo* t = m.find("fc.weight_t");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->strides, (std::vector<std::int64_t>{1, 6}));  // a transposed 4x6 storage
    EXPECT_FALSE(m.find("row2")->offset == t->offset);          // row 2 starts 12 elements in
    EXPECT_EQ(m.find("row2")->offset, t->offset + 12 * 4);
    EXPECT_TRUE(m.find("row2")->strides.empty());
  }
}

TEST(IoGoodFiles, HandWrittenSafetensors) {
  const ModelFile m = open_model(test::data_dir() + "/small.safetensors");
  EXPECT_EQ(m.format, "safetensors");
  EXPECT_FALSE(m.order_is_state_dict);
  check_against_expected("small.safetensors", m);
  ASSERT_TRUE(m.declared_layers.has_value());
  EXPECT_EQ(*m.declared_layers, expected().at("_layers").get<std::vector<std::string>>());
  EXPECT_EQ(m.files, std::vector<std::string>{m.path});
}

TEST(IoGoodFiles, ShardedSafetensors) {
  const std::string index = test::data_dir() + "/sharded/model.safetensors.index.json";
  const ModelFile m = open_model(index);
  EXPECT_EQ(m.format, "safetensors-sharded");
  check_against_expected("sharded/model.safetensors.index.json", m);
  ASSERT_TRUE(m.declared_layers.has_value());
  EXPECT_EQ(*m.declared_layers, expected().at("_layers").get<std::vector<std::string>>());
  ASSERT_EQ(m.files.size(), 3u);
  EXPECT_EQ(m.files[0], index);
  EXPECT_NE(m.files[1].find("model-00001-of-00002"), std::string::npos);
  EXPECT_NE(m.files[2].find("model-00002-of-00002"), std::string::npos);
  EXPECT_EQ(m.tensors.front().file, m.files[1]);
  EXPECT_EQ(m.tensors.back().file, m.files[2]);
}

// The same state_dict in four containers reads to identical doubles.
TEST(IoGoodFiles, AllFormatsAgreeBitForBit) {
  const ModelFile a = open_model(test::data_dir() + "/small_zip.pth");
  for (const char* other : {"small_legacy.pth", "small.safetensors", "sharded/model.safetensors.index.json"}) {
    const ModelFile b = open_model(test::data_dir() + "/" + other);
    ASSERT_EQ(a.tensors.size(), b.tensors.size());
    for (std::size_t k = 0; k < a.tensors.size(); ++k) {
      EXPECT_EQ(a.tensors[k].name, b.tensors[k].name);
      EXPECT_EQ(read_tensor(a.tensors[k]), read_tensor(b.tensors[k])) << other << " " << a.tensors[k].name;
    }
  }
}

TEST(IoGoodFiles, RefusedEntryIsRecordedNotRun) {
  const ModelFile m = open_model(test::data_dir() + "/refused_entry.pth");
  check_against_expected("refused_entry.pth", m);
  ASSERT_EQ(m.refused.size(), 1u);
  EXPECT_EQ(m.refused.at("evil"), "posix.system");  // os.system pickles under its module, posix
  EXPECT_EQ(m.find("evil"), nullptr);
}

}  // namespace
}  // namespace svr
