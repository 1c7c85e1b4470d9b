// write_safetensors round trip through open_model/read_tensor, and its failure modes.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "io_test_helpers.hpp"
#include "svr/io/model_file.hpp"
#include "svr/io/safetensors_writer.hpp"

namespace svr {
namespace {

TEST(IoSafetensorsWriter, RoundTrip) {
  test::TempDir dir;
  const std::string path = dir / "out.safetensors";
  const std::vector<NamedArray> arrays = {
      {"z.last_in_name_order", {2, 3}, {1, -2, 3.25, 1e-300, -0.0, std::numeric_limits<double>::max()}},
      {"a.scalar", {}, {3.5}},
      {"m.empty", {0, 4}, {}},
      {"b.vector", {5}, {0.1, 0.2, 0.3, 0.4, 0.5}}};
  write_safetensors(path, arrays, {{"svr.layers", R"(["z.last_in_name_order","b.vector"])"}, {"note", "x"}});

  const std::string bytes = test::read_file(path);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  EXPECT_EQ((8 + n) % 8, 0u);  // data section 8-byte aligned
  EXPECT_EQ(bytes.size(), 8 + n + 8 * (6 + 1 + 0 + 5));

  const ModelFile m = open_model(path);
  EXPECT_EQ(m.format, "safetensors");
  ASSERT_EQ(m.tensors.size(), arrays.size());
  for (std::size_t k = 0; k < arrays.size(); ++k) {
    EXPECT_EQ(m.tensors[k].name, arrays[k].name);  // given order, not sorted
    EXPECT_EQ(m.tensors[k].dtype, DType::F64);
    EXPECT_EQ(m.tensors[k].shape, arrays[k].shape);
    const std::vector<double> back = read_tensor(m.tensors[k]);
    ASSERT_EQ(back.size(), arrays[k].data.size());
    for (std::size_t i = 0; i < back.size(); ++i) {
      EXPECT_EQ(back[i], arrays[k].data[i]);
      EXPECT_EQ(std::signbit(back[i]), std::signbit(arrays[k].data[i]));
    }
  }
  ASSERT_TRUE(m.declared_layers.has_value());
  EXPECT_EQ(*m.declared_layers, (std::vector<std::string>{"z.last_in_name_order", "b.vector"}));
}

TEST(IoSafetensorsWriter, EmptyList) {
  test::TempDir dir;
  write_safetensors(dir / "e.safetensors", {});
  EXPECT_TRUE(open_model(dir / "e.safetensors").tensors.empty());
}

TEST(IoSafetensorsWriter, Errors) {
  test::TempDir dir;
  EXPECT_THROW(write_safetensors(dir / "a.safetensors", {{"w", {2, 2}, {1, 2, 3}}}), OutputError);
  EXPECT_THROW(write_safetensors(dir / "b.safetensors", {{"w", {1}, {1}}, {"w", {1}, {2}}}), OutputError);
  EXPECT_THROW(write_safetensors(dir / "no/such/dir/c.safetensors", {{"w", {1}, {1}}}), OutputError);
}

}  // namespace
}  // namespace svr
