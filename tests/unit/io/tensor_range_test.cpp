// read_tensor_range / TensorRangeReader against read_tensor on every good fixture, including the
// strided (transposed) views of PyTorch checkpoints, and its bounds checks.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "io_test_helpers.hpp"
#include "svr/core/error.hpp"
#include "svr/io/model_file.hpp"

namespace svr {
namespace {

void expect_ranges_match(const std::string& file) {
  const ModelFile m = open_model(test::data_dir() + "/" + file);
  ASSERT_FALSE(m.tensors.empty()) << file;
  for (const TensorInfo& t : m.tensors) {
    SCOPED_TRACE(file + " " + t.name);
    const std::vector<double> all = read_tensor(t);
    const auto n = static_cast<std::int64_t>(all.size());
    TensorRangeReader reader(t);
    EXPECT_EQ(reader.numel(), n);
    // Every single element, every prefix/suffix split and a few interior spans.
    for (std::int64_t first = 0; first < n; ++first) {
      double one = -1;
      reader.read(first, 1, &one);
      EXPECT_EQ(one, all[static_cast<std::size_t>(first)]) << first;
    }
    for (std::int64_t first : {std::int64_t{0}, n / 3, n / 2, n - 1}) {
      if (first < 0 || first >= n) continue;
      for (std::int64_t count : {n - first, (n - first + 1) / 2, std::int64_t{0}}) {
        std::vector<double> part(static_cast<std::size_t>(count) + 1, -7.0);
        read_tensor_range(t, first, count, part.data());
        for (std::int64_t k = 0; k < count; ++k)
          EXPECT_EQ(part[static_cast<std::size_t>(k)], all[static_cast<std::size_t>(first + k)]);
        EXPECT_EQ(part.back(), -7.0);  // nothing written past count
      }
    }
  }
}

TEST(TensorRange, MatchesReadTensorOnEveryFixture) {
  for (const char* file : {"small.safetensors", "small_zip.pth", "small_zip_p4.pth",
                           "small_legacy.pth", "transposed_zip.pth", "transposed_legacy.pth",
                           "checkpoint.pth", "sharded/model.safetensors.index.json"})
    expect_ranges_match(file);
}

TEST(TensorRange, TransposedFixturesAreStrided) {
  const ModelFile m = open_model(test::data_dir() + "/transposed_zip.pth");
  bool strided = false;
  for (const TensorInfo& t : m.tensors) strided = strided || !t.is_contiguous();
  EXPECT_TRUE(strided);  // so the test above covers the strided path
}

TEST(TensorRange, RefusesRangesOutsideTheTensor) {
  const ModelFile m = open_model(test::data_dir() + "/small.safetensors");
  const TensorInfo& t = m.tensors.front();
  const std::int64_t n = t.numel();
  std::vector<double> out(static_cast<std::size_t>(n) + 2);
  for (const auto& [first, count] : std::vector<std::pair<std::int64_t, std::int64_t>>{
           {-1, 1}, {0, n + 1}, {n, 1}, {1, n}, {0, -1}}) {
    try {
      read_tensor_range(t, first, count, out.data());
      ADD_FAILURE() << "no error for [" << first << ", +" << count << ")";
    } catch (const InputError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(t.name), std::string::npos) << message;
      EXPECT_NE(message.find("outside the tensor"), std::string::npos) << message;
    }
  }
  EXPECT_NO_THROW(read_tensor_range(t, n, 0, out.data()));
}

TEST(TensorRange, RefusesATruncatedFile) {
  const ModelFile m = open_model(test::data_dir() + "/small.safetensors");
  TensorInfo t = m.tensors.back();
  t.offset += 1u << 30;  // as if the file had shrunk since it was opened
  EXPECT_THROW(TensorRangeReader{t}, InputError);
}

}  // namespace
}  // namespace svr
