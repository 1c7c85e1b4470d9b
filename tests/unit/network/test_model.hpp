#pragma once
// Test-only: a ModelFile built in memory whose tensor bytes live in one small raw little-endian
// file in a fresh temporary directory, so production code reads them through svr::read_tensor.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "svr/core/error.hpp"
#include "svr/io/model_file.hpp"
#include "svr_test/temp_dir.hpp"

namespace svr::test {

class TestModel {
 public:
  explicit TestModel(const std::string& model_name = "model.safetensors") {
    data_ = dir_ / "data.bin";
    std::ofstream(data_, std::ios::binary | std::ios::trunc);
    model.path = dir_ / model_name;
    model.format = "safetensors";
  }
  TestModel(const TestModel&) = delete;
  TestModel& operator=(const TestModel&) = delete;

  // F64 tensor with the given values (row-major).
  TestModel& add(const std::string& name, std::vector<std::int64_t> shape,
                 const std::vector<double>& values) {
    return add_raw(name, DType::F64, std::move(shape), values.data(), values.size() * 8);
  }
  // F32 tensor.
  TestModel& add_f32(const std::string& name, std::vector<std::int64_t> shape,
                     const std::vector<float>& values) {
    return add_raw(name, DType::F32, std::move(shape), values.data(), values.size() * 4);
  }
  // I64 tensor (e.g. num_batches_tracked).
  TestModel& add_i64(const std::string& name, std::vector<std::int64_t> shape,
                     const std::vector<std::int64_t>& values) {
    return add_raw(name, DType::I64, std::move(shape), values.data(), values.size() * 8);
  }
  // F64 tensor of the shape filled with 1, 2, 3, ... (easy hand computations).
  TestModel& add_iota(const std::string& name, std::vector<std::int64_t> shape) {
    std::vector<double> v(static_cast<std::size_t>(numel(shape)));
    std::iota(v.begin(), v.end(), 1.0);
    return add(name, std::move(shape), v);
  }
  // F64 tensor of Gaussian values (never all zero).
  TestModel& add_random(const std::string& name, std::vector<std::int64_t> shape,
                        unsigned seed = 1) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal;
    std::vector<double> v(static_cast<std::size_t>(numel(shape)));
    for (double& x : v) x = normal(rng);
    return add(name, std::move(shape), v);
  }
  // A BatchNorm module: weight, bias, running_mean, running_var, num_batches_tracked.
  TestModel& add_batchnorm(const std::string& prefix, const std::vector<double>& gamma,
                           const std::vector<double>& var) {
    const auto n = static_cast<std::int64_t>(var.size());
    if (!gamma.empty()) add(prefix + ".weight", {n}, gamma);
    add(prefix + ".bias", {n}, std::vector<double>(var.size(), 0.5));
    add(prefix + ".running_mean", {n}, std::vector<double>(var.size(), 0.25));
    add(prefix + ".running_var", {n}, var);
    return add_i64(prefix + ".num_batches_tracked", {}, {7});
  }

  static std::int64_t numel(const std::vector<std::int64_t>& shape) {
    std::int64_t n = 1;
    for (std::int64_t d : shape) n *= d;
    return n;
  }

  ModelFile model;

 private:
  TestModel& add_raw(const std::string& name, DType dtype, std::vector<std::int64_t> shape,
                     const void* bytes, std::size_t nbytes) {
    std::ofstream out(data_, std::ios::binary | std::ios::app);
    out.seekp(0, std::ios::end);
    TensorInfo t;
    t.name = name;
    t.dtype = dtype;
    t.shape = std::move(shape);
    t.file = data_;
    t.offset = static_cast<std::uint64_t>(out.tellp());
    t.nbytes = nbytes;
    out.write(static_cast<const char*>(bytes), static_cast<std::streamsize>(nbytes));
    model.tensors.push_back(std::move(t));
    return *this;
  }

  TempDir dir_;  // removed with the model
  std::string data_;
};

// Runs `body`, expects an InputError whose message contains every one of `parts`.
template <typename Body>
void expect_input_error(Body body, const std::vector<std::string>& parts) {
  try {
    body();
    ADD_FAILURE() << "expected svr::InputError";
  } catch (const InputError& error) {
    const std::string what = error.what();
    for (const std::string& part : parts)
      EXPECT_NE(what.find(part), std::string::npos) << "'" << part << "' not in: " << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << "message is not one line: " << what;
  }
}

}  // namespace svr::test
